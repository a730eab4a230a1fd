import type { FlowError } from './errors';

export interface Stall {
  doc: string;
  /** How long the document has not been joined, in ms. */
  forMs: number;
  /** The last refusal of a re-join, or null when none came (no connection, no answer). */
  error: FlowError | null;
}

/**
 * Times how long a document has been out of its joined state. Re-joins are
 * retried quietly, so without this an application could not tell a blip
 * from a document the server keeps refusing while edits pile up unsaved.
 */
export class StallWatch {
  private since: number | null = null;
  private lastError: FlowError | null = null;
  private timer: ReturnType<typeof setTimeout> | undefined;
  stalled = false;

  constructor(
    private readonly doc: string,
    /** 0 turns the report off. */
    private readonly afterMs: number,
    private readonly onStall: (stall: Stall) => void,
  ) {}

  /** The document stopped being joined; counting from the first loss, not the last. */
  lost(): void {
    if (this.since !== null) return;
    const since = Date.now();
    this.since = since;
    if (this.afterMs <= 0) return;
    this.timer = setTimeout(() => {
      this.stalled = true;
      // The timer's clock is not Date.now(): it may fire when the wall clock
      // has moved 1 ms less than afterMs. The stall lasted afterMs at least.
      const forMs = Math.max(this.afterMs, Date.now() - since);
      this.onStall({ doc: this.doc, forMs, error: this.lastError });
    }, this.afterMs);
    // A report alone must not keep a Node process running; browsers have no unref.
    (this.timer as { unref?: () => void }).unref?.();
  }

  refused(error: FlowError): void {
    this.lastError = error;
  }

  /** Joined again, or finished: the next loss counts afresh. */
  reset(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.since = null;
    this.lastError = null;
    this.stalled = false;
  }
}
