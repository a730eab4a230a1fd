import { Cluster } from 'ioredis';
import type { RedisClient } from './connection';
import { keySlot } from './key-slot';

/** How long a single Redis's replica count is trusted before it is asked again. */
const SINGLE_REFRESH_MS = 5_000;

/**
 * How many replicas the master holding a key has, answered without a round
 * trip per call: REDIS_WAIT_REPLICAS=auto asks it after every apply.
 *
 * On a cluster the answer is ioredis's slot table (CLUSTER SLOTS lists each
 * slot's master and its replicas that are not marked failed). ioredis
 * refreshes that table every 5 s and at once on a MOVED redirection, so a
 * failover or a replica attached later is seen within seconds. On a single
 * Redis it is `connected_slaves` of INFO replication, asked again at most every
 * 5 s in the background; the first call waits for it.
 */
export class ReplicaCount {
  private single: { count: number; at: number } | undefined;
  private asking: Promise<number> | undefined;

  constructor(
    private readonly redis: RedisClient,
    private readonly now: () => number = Date.now,
  ) {}

  async of(key: string): Promise<number> {
    if (this.redis instanceof Cluster) {
      const nodes = this.redis.slots[keySlot(key)];
      return nodes === undefined ? 0 : Math.max(0, nodes.length - 1);
    }
    const known = this.single;
    if (known === undefined) return this.ask();
    // A stale count is still the best guess; the refresh must not delay the ack.
    if (this.now() - known.at >= SINGLE_REFRESH_MS) this.ask().catch(() => undefined);
    return known.count;
  }

  private ask(): Promise<number> {
    this.asking ??= (async () => {
      try {
        const info = await (this.redis as Exclude<RedisClient, Cluster>).info('replication');
        const count = Number(/^connected_slaves:(\d+)/m.exec(info)?.[1] ?? '0');
        this.single = { count, at: this.now() };
        return count;
      } finally {
        this.asking = undefined;
      }
    })();
    return this.asking;
  }
}
