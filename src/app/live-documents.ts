import type { FlowConfig } from '../config';
import type { Logger } from 'pino';
import { isCluster, RedisKeys, type RedisClient } from '../redis';
import { operatorRedis } from './operator-redis';

/** One document with a live collaboration session in Redis. */
export interface LiveDocument {
  doc: string;
  epoch: string;
  seq: number;
  /** Seconds before its keys expire; -1 when they do not. */
  ttlSeconds: number;
}

/**
 * Every document with a session in Redis, over every master of a cluster:
 * `redis-cli --scan` or `KEYS` on one node lists only that node's slots.
 * SCAN, not KEYS, so that a large Redis is not blocked meanwhile.
 */
export async function listLiveDocuments(config: FlowConfig, log: Logger): Promise<LiveDocument[]> {
  const client = await operatorRedis(config, log, 'docs-listing');
  try {
    const nodes: RedisClient[] = isCluster(client) ? client.nodes('master') : [client];
    const pattern = `${sessionPrefix(config)}*`;
    const keys: string[] = [];
    for (const node of nodes) {
      let cursor = '0';
      do {
        const [next, found] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
        cursor = next;
        keys.push(...found);
      } while (cursor !== '0');
    }
    const documents: LiveDocument[] = [];
    for (const key of keys) {
      const [session, ttl] = await Promise.all([client.hgetall(key), client.ttl(key)]);
      // Expired between the scan and now.
      if (session.doc === undefined) continue;
      documents.push({
        doc: session.doc,
        epoch: session.epoch ?? '',
        seq: Number(session.seq ?? 0),
        ttlSeconds: ttl,
      });
    }
    return documents.sort((a, b) => a.doc.localeCompare(b.doc));
  } finally {
    client.disconnect();
  }
}

/** `flow:sessions:` for the configured prefix (the part of the key before the hash tag). */
function sessionPrefix(config: FlowConfig): string {
  const key = new RedisKeys(config.redis.keyPrefix).doc('x').session;
  return key.slice(0, key.length - RedisKeys.tag('x').length);
}
