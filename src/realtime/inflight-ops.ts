/** One copy of an op message waiting for its answer. */
export interface InflightCopy {
  /** When it arrived (ms, monotonic). */
  since: number;
  /** The client's `ref`, for the answer. */
  ref: string | undefined;
}

/**
 * The op messages of one membership that are waiting for their ack, by
 * cseq. A client may send the same cseq again before the first ack (a
 * resend); each copy gets its own answer, in order. The gateway keeps the
 * `ref` here, so that an ack recovered from the history (its broadcast was
 * lost) still carries it.
 */
export class InflightOps {
  private readonly entries = new Map<number, InflightCopy[]>();

  add(cseq: number, ref: string | undefined, now = performance.now()): void {
    const copies = this.entries.get(cseq);
    if (copies) copies.push({ since: now, ref });
    else this.entries.set(cseq, [{ since: now, ref }]);
  }

  has(cseq: number): boolean {
    return this.entries.has(cseq);
  }

  /** Answers the oldest copy of `cseq`; undefined when none waits. */
  take(cseq: number): InflightCopy | undefined {
    const copies = this.entries.get(cseq);
    const copy = copies?.shift();
    if (copies && copies.length === 0) this.entries.delete(cseq);
    return copy;
  }

  /** When the longest-waiting op arrived, or undefined when none waits. */
  oldest(): number | undefined {
    const first = this.entries.values().next();
    return first.done ? undefined : first.value[0]?.since;
  }

  /** Every cseq waiting, with its copies, oldest first. */
  waiting(): IterableIterator<[number, readonly InflightCopy[]]> {
    return this.entries.entries();
  }

  get size(): number {
    return this.entries.size;
  }
}
