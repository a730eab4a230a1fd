import type { RedisClient, RedisKeys } from '../../redis';
import type { SeedState } from './collaboration.memory';
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
    const lastApplied = new Map<string, { cseq: number; seq: number }>();
    for (const [client, value] of Object.entries(records)) {
      // Stored as "<highest applied cseq> <its seq>".
      const [cseq, seq] = value.split(' ').map(Number);
      if (Number.isSafeInteger(cseq) && Number.isSafeInteger(seq)) {
        lastApplied.set(client, { cseq: cseq as number, seq: seq as number });
      }
    }
    return { snapshot, lastApplied };
  };
}
