/** How long an answer time is remembered: between one and two of these (ms). */
const WINDOW_MS = 5000;

/**
 * How long this gateway's ops have lately waited for their answer: the
 * longest wait among the ops answered in the last 5 to 10 seconds (ms,
 * monotonic clock). A gateway whose answers take seconds everywhere has a
 * queue behind it, not a lost broadcast on every document: UnackedRefresh
 * waits longer before reading histories then, so that the reads do not add
 * to the load the ops wait behind.
 */
export class AnswerLag {
  private current = 0;
  private previous = 0;
  private windowStart = Number.NEGATIVE_INFINITY;

  note(waitedMs: number, now: number): void {
    this.rotate(now);
    if (waitedMs > this.current) this.current = waitedMs;
  }

  recent(now: number): number {
    this.rotate(now);
    return Math.max(this.current, this.previous);
  }

  private rotate(now: number): void {
    const passed = now - this.windowStart;
    if (passed < WINDOW_MS) return;
    // A window with no answer at all forgets the one before it too.
    this.previous = passed < 2 * WINDOW_MS ? this.current : 0;
    this.current = 0;
    this.windowStart = now;
  }
}
