/**
 * The op messages of one membership that are waiting for their ack, by
 * cseq. A client may send the same cseq again before the first ack (a
 * resend); each copy gets its own answer, so copies are counted.
 */
export class InflightOps {
  private readonly entries = new Map<number, { since: number; copies: number }>();

  /** Records one copy of `cseq`, received at `now` (ms, monotonic). */
  add(cseq: number, now = performance.now()): void {
    const entry = this.entries.get(cseq);
    if (entry) entry.copies++;
    else this.entries.set(cseq, { since: now, copies: 1 });
  }

  has(cseq: number): boolean {
    return this.entries.has(cseq);
  }

  /** Answers one copy; returns when the first copy arrived, or undefined when none waits. */
  take(cseq: number): number | undefined {
    const entry = this.entries.get(cseq);
    if (!entry) return undefined;
    if (--entry.copies === 0) this.entries.delete(cseq);
    return entry.since;
  }

  /** When the longest-waiting op arrived, or undefined when none waits. */
  oldest(): number | undefined {
    const first = this.entries.values().next();
    return first.done ? undefined : first.value.since;
  }

  get size(): number {
    return this.entries.size;
  }
}
