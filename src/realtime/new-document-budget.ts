import { TokenBucket } from './rate-limiter';

/** Above this many tracked users, those idle for a whole minute (bucket full again) are forgotten. */
const PRUNE_ABOVE = 10_000;
const MINUTE_MS = 60_000;

/**
 * How many documents nobody has edited yet (a join that finds seq 0) each
 * user may open per minute on this gateway. Such a join costs a session in
 * Redis or memory for as long as anyone holds it, so one account must not
 * mint them at the message rate. Users are the token's `sub`, or the client
 * id when authentication is off. Each gateway keeps its own count: a user
 * spread over N gateways may open N times the limit.
 */
export class NewDocumentBudget {
  private readonly users = new Map<string, { bucket: TokenBucket; at: number }>();

  constructor(
    readonly perMinute: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Charges one new document to `user`; false when its minute's budget is spent. */
  take(user: string): boolean {
    const now = this.now();
    let entry = this.users.get(user);
    if (!entry) {
      if (this.users.size >= PRUNE_ABOVE) this.prune(now);
      entry = {
        bucket: new TokenBucket(this.perMinute / 60, this.perMinute, this.now),
        at: now,
      };
      this.users.set(user, entry);
    }
    entry.at = now;
    return entry.bucket.take();
  }

  private prune(now: number): void {
    for (const [user, entry] of this.users) {
      if (now - entry.at >= MINUTE_MS) this.users.delete(user);
    }
  }
}
