import type { RedisClient } from '../redis/connection';
import type { EventOrderingService } from '../services/event-ordering/event-ordering-service';
import { READY_SHARDS, type OrderingKeys } from '../redis/ordering-keys';
import type { OrderingBacklog, SharedBacklog } from '../observability/metrics';

/**
 * Documents with queued op messages, over the whole cluster, from the ready
 * sets of Redis ordering (ordering-keys.ts). A mark's score is the time the
 * document is due for a worker: when its first waiting job was added, or,
 * while a worker holds it, the end of that worker's lease (a time in the
 * future). Marks at or before now are documents no worker has taken yet.
 * Two commands per ready shard.
 */
export async function readSharedBacklog(
  client: RedisClient,
  keys: OrderingKeys,
  now = Date.now(),
): Promise<SharedBacklog> {
  const shards = Array.from({ length: READY_SHARDS }, (_, shard) => keys.ready(shard));
  const [counts, oldest] = await Promise.all([
    Promise.all(shards.map((key) => client.zcard(key))),
    Promise.all(
      shards.map((key) =>
        client.zrangebyscore(key, '-inf', String(now), 'WITHSCORES', 'LIMIT', 0, 1),
      ),
    ),
  ]);
  let earliest = now;
  for (const reply of oldest) {
    const score = Number(reply[1]);
    if (reply.length >= 2 && Number.isFinite(score)) earliest = Math.min(earliest, score);
  }
  return {
    documents: counts.reduce((sum, n) => sum + n, 0),
    oldestWaitSeconds: (now - earliest) / 1000,
  };
}

/** The ordering gauges' source for one process: its own depth, and the ready sets in Redis mode. */
export function orderingBacklog(
  ordering: EventOrderingService,
  redis: { client: RedisClient; keys: OrderingKeys } | null,
): OrderingBacklog {
  // Both implementations count what they hold; the interface does not promise it.
  const withDepth = ordering as Partial<{ depth(): number }>;
  const localDepth = () => (typeof withDepth.depth === 'function' ? withDepth.depth() : 0);
  if (ordering.mode !== 'redis' || !redis) return { localDepth };
  return { localDepth, shared: () => readSharedBacklog(redis.client, redis.keys) };
}
