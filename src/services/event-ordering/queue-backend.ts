import {
  createRedisBackend,
  type BackendFactory,
  type KeyPrefixOptions,
  type RedisQueueBackend,
} from 'bullmq';
import type { Cluster, Redis } from 'ioredis';

/** BullMQ's backend of every document queue of one process, and how to let it go. */
export interface SharedQueueBackend {
  /** For `new Queue(name, opts, factory)`: a backend on the shared connection. */
  factory: BackendFactory<RedisQueueBackend>;
  close(): Promise<void>;
}

/**
 * One BullMQ connection wrapper for all of a gateway's document queues.
 *
 * A Queue built the default way wraps its connection anew: it defines
 * BullMQ's scripts on the client (a loop over all of them), puts three
 * listeners on it and takes them off when it closes, which in EventEmitter
 * arrays of thousands costs a scan per close. With one queue per live
 * document, evicted and reopened as documents come and go, that was a large
 * part of a gateway's CPU at 10,000 documents. Here each queue gets a
 * sibling of one backend (BullMQ's `forQueue`, made for producers that add
 * to many queues): its own keys, the shared connection, nothing to wrap or
 * unwrap; closing the queue leaves the connection alone.
 */
export function sharedQueueBackend(client: Redis | Cluster, queueName: string): SharedQueueBackend {
  const base = createRedisBackend(queueName, { connection: client, skipVersionCheck: true });
  // The backend re-emits the connection's errors, and an 'error' nobody
  // listens to throws (out of the client's own emit: the process would
  // crash). The connection reports its errors itself (connection-log).
  base.on('error', () => undefined);
  return {
    // A RedisQueueBackend, typed by BullMQ as its interface.
    // Queue passes its whole options, key prefix included (a Redis-only option).
    factory: (name, opts) =>
      base.forQueue(name, (opts as KeyPrefixOptions).prefix) as RedisQueueBackend,
    close: () => base.close(),
  };
}
