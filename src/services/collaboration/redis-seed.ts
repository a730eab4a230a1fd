import type { RedisClient, RedisKeys } from '../../redis';
import type { SeedState } from './collaboration.memory';
import { DEDUPE_WINDOW, parseDedupeRecord, type DedupePairs } from './dedupe-bounds';
import type { RedisCollaborationService } from './collaboration.redis';

/**
 * Reads what an in-memory session needs to continue a document that lives in
 * Redis: its snapshot (epoch and seq kept, so clients resume without a new
 * epoch) and the dedupe records (so resends of acknowledged ops stay
 * duplicates). Read only: nothing is written back to Redis.
 */
export function seedFromRedis(
  redisCollaboration: RedisCollaborationService,
  redis: RedisClient,
  keys: RedisKeys,
): (doc: string) => Promise<SeedState | null> {
  return async (doc) => {
    const snapshot = await redisCollaboration.snapshot(doc);
    if (!snapshot) return null;
    const records = await redis.hgetall(keys.doc(doc).dedupe);
    const lastApplied = new Map<string, DedupePairs>();
    for (const [client, value] of Object.entries(records)) {
      const pairs = parseDedupeRecord(value);
      if (pairs.length > 0) lastApplied.set(client, pairs.slice(-DEDUPE_WINDOW));
    }
    return { snapshot, lastApplied };
  };
}
