import { readFileSync } from 'node:fs';
import { Queue, createRedisBackend, type BackendFactory, type RedisQueueBackend } from 'bullmq';
import type { Cluster, Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { OrderingKeys } from '../../redis/ordering-keys';

/**
 * Entries kept in a queue's BullMQ events stream. Nobody reads it; each op
 * batch adds two (added, waiting), so a small bound keeps an active
 * document's stream at a few KB instead of BullMQ's default 10,000 entries.
 */
export const QUEUE_EVENTS_MAX_LEN = 16;

/** The meta `version` BullMQ's Queue writes; the worker rewrites the meta after it expired. */
export const QUEUE_VERSION = `bullmq:${
  (JSON.parse(readFileSync(require.resolve('bullmq/package.json'), 'utf8')) as { version: string })
    .version
}`;

/**
 * The BullMQ queue of one document, on a shared connection. Queue objects
 * are made and dropped often (one per live document), so they skip the INFO
 * round trip that checks the Redis version (checked once at start by the
 * connection). They write the meta hash (version, events length), so
 * BullMQ's own reads and dashboards see a valid queue: once per document
 * while it lives (MetaWrites).
 */
export function openDocumentQueue(
  client: Redis | Cluster,
  keys: OrderingKeys,
  doc: string,
  log: Logger,
  options: {
    /** A backend shared by many document queues (sharedQueueBackend); default: BullMQ's own. */
    backend?: BackendFactory<RedisQueueBackend>;
    /** Write the meta hash (see MetaWrites). @default true */
    writeMeta?: boolean;
  } = {},
): Queue {
  const queue = new Queue(
    keys.queueName,
    {
      connection: client,
      prefix: keys.queuePrefix(doc),
      skipVersionCheck: true,
      skipMetasUpdate: options.writeMeta === false,
      streams: { events: { maxLen: QUEUE_EVENTS_MAX_LEN } },
    },
    options.backend ?? createRedisBackend,
  );
  queue.on('error', (err) => log.warn({ doc, err: err.message }, 'queue error'));
  return queue;
}
