import { Queue } from 'bullmq';
import type { Cluster, Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { OrderingKeys } from '../../redis/ordering-keys';

/**
 * The BullMQ queue of one document, on a shared connection. Queue objects
 * are made and dropped often (one per live document), so they skip what
 * BullMQ would otherwise do per object: an INFO round trip to check the
 * Redis version (checked once at start by the connection) and a meta write.
 */
export function openDocumentQueue(
  client: Redis | Cluster,
  keys: OrderingKeys,
  doc: string,
  log: Logger,
): Queue {
  const queue = new Queue(keys.queueName, {
    connection: client,
    prefix: keys.queuePrefix(doc),
    skipVersionCheck: true,
    skipMetasUpdate: true,
    // The events stream is not read by anyone; keep it tiny.
    streams: { events: { maxLen: 10 } },
  });
  queue.on('error', (err) => log.warn({ doc, err: err.message }, 'queue error'));
  return queue;
}

// KEYS: every key of one queue (one slot). ARGV: ttl seconds.
const EXPIRE_ALL = `for _, key in ipairs(KEYS) do redis.call('EXPIRE', key, ARGV[1]) end return #KEYS`;

/**
 * Gives an idle queue's keys (id counter, meta, events...) the document's
 * TTL, in one round trip; the next op recreates what BullMQ needs.
 */
export async function expireQueueKeys(
  client: Redis | Cluster,
  queue: Queue,
  ttlSeconds: number,
): Promise<void> {
  if (ttlSeconds <= 0) return;
  const keys = Object.values(queue.keys).filter((key) => !key.endsWith(':'));
  await client.eval(EXPIRE_ALL, keys.length, ...keys, ttlSeconds);
}
