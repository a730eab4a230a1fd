/** Documents remembered at most; beyond that the oldest are forgotten (and written again). */
const MAX_REMEMBERED = 200_000;

/**
 * Which document queues' meta hash (BullMQ's version and events length) this
 * gateway wrote lately, so that a queue opened again (the gateway keeps only
 * the most recently active ones open) does not write it again: at 10,000
 * documents that was one HMSET per op.
 *
 * Why a write within half the key TTL is still there: the meta hash expires
 * with the document's keys, REDIS_SESSION_TTL after the last take of a job,
 * and the gateway writes it when it opens the queue to add one. Should it be
 * gone all the same (a failover), the next take writes it back
 * (take-apply-12).
 */
export class MetaWrites {
  private readonly written = new Map<string, number>();
  private readonly freshMs: number;

  /** `keyTtlSeconds`: REDIS_SESSION_TTL (0: the keys never expire). */
  constructor(keyTtlSeconds: number) {
    this.freshMs = keyTtlSeconds > 0 ? (keyTtlSeconds * 1000) / 2 : Infinity;
  }

  /** Whether to write `doc`'s meta now; if so, it counts as written. */
  due(doc: string, now: number): boolean {
    const at = this.written.get(doc);
    if (at !== undefined && now - at < this.freshMs) return false;
    // Re-insert: Map order is write order, oldest first.
    this.written.delete(doc);
    this.written.set(doc, now);
    if (this.written.size > MAX_REMEMBERED) {
      const oldest = this.written.keys().next().value as string;
      this.written.delete(oldest);
    }
    return true;
  }
}
