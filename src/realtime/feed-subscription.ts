/**
 * A document feed's subscription to its broadcasts. A failed attempt is
 * never kept: every join that waits shares the attempt in flight, and the
 * first `ready()` after a failure starts a new one. A cached failure would
 * refuse every join for as long as the feed lives, and a client that
 * retries faster than an empty feed lingers would keep it alive forever.
 */
export class FeedSubscription {
  private attempt: Promise<void> | null = null;
  private failed = false;

  constructor(private readonly subscribe: () => Promise<void>) {}

  /** Settles with the current attempt, starting one when none is in flight or the last failed. */
  ready(): Promise<void> {
    if (this.attempt === null || this.failed) {
      this.failed = false;
      const attempt = this.subscribe();
      this.attempt = attempt;
      attempt.catch(() => {
        if (this.attempt === attempt) this.failed = true;
      });
    }
    return this.attempt;
  }

  /** Waits for the attempt in flight, if any, without starting one. Never rejects. */
  async settled(): Promise<void> {
    await this.attempt?.catch(() => undefined);
  }
}
