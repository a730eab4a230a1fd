import type { Logger } from 'pino';
import type { RedisClient } from '../../redis/connection';
import type { RedisKeys } from '../../redis/keys';
import type { RedisDurableOptions } from './redis-durable';

/** How a RedisCollaborationService is set up; `createRedisCollaborationService` fills it from the config. */
export interface RedisCollaborationOptions {
  redis: RedisClient;
  log: Logger;
  /** @default new RedisKeys('flow:') */
  keys?: RedisKeys;
  /** Events kept per document (HISTORY_LENGTH); the stream is trimmed to exactly this. */
  historyLength: number;
  /** Seconds after the last activity when the document's keys expire (REDIS_SESSION_TTL); 0 = never. */
  sessionTtlSeconds: number;
  /**
   * A node (gateway) that has not sent a presence heartbeat for this long is
   * dead: its clients' presence is no longer listed and is pruned.
   * @default 30000
   */
  presenceTimeoutMs?: number;
  /** `close()` also quits the connection. @default false */
  ownsConnection?: boolean;
  /**
   * Replicas that must have a document's change before it is answered
   * (REDIS_WAIT_REPLICAS). Redis replicates asynchronously: without this, a
   * master that fails over right after an apply can lose acknowledged ops.
   * `auto` waits for one replica when the document's master has one, and for
   * none when it has none (a cluster without replicas is not slowed).
   * @default 0
   */
  waitReplicas?: number | 'auto';
  /** How long to wait for them before answering anyway, with a warning. @default 1000 */
  waitTimeoutMs?: number;
  /** @default Date.now */
  now?: () => number;
  /**
   * With a document store: documents Redis lacks are loaded from it, unsaved
   * edits keep their keys, savedSeq is kept with the session (see RedisDurableDocuments).
   */
  durable?: RedisDurableOptions;
  /** A document's state may be at most this many bytes as JSON (DOC_MAX_BYTES). @default 4 MiB */
  maxDocBytes?: number;
}
