import type { Logger } from 'pino';
import type { RedisClient } from '../redis/connection';
import type { RedisKeys } from '../redis/keys';
import type { OrderingKeys } from '../redis/ordering-keys';
import type { BatchProcessor } from '../services/event-ordering/event-ordering-service';
import type { OutcomePublisher } from './outcome-publisher';
import type { WorkerRoster } from './worker-roster';

/** What an ordering worker process is given: its connections, where state lives, and its bounds. */
export interface OrderingWorkerOptions {
  /** Commands; shared by every document this worker processes. */
  client: RedisClient;
  /** Receives wake-ups; subscribed to one channel per ready shard. */
  subscriber: RedisClient;
  sharded: boolean;
  keys: OrderingKeys;
  /** The documents' own keys (session, state, history, dedupe...). */
  docKeys: RedisKeys;
  /** Sends the outcomes of each applied batch to the gateways. */
  publish: OutcomePublisher;
  /**
   * Document state in Redis (USE_REDIS_COLLABORATION): the take script
   * applies the jobs. Otherwise the worker only takes them and hands them to
   * `processor`, which applies them to the state in this process's memory.
   */
  stateInRedis: boolean;
  /**
   * With a document store and state in Redis: loads a document Redis has no
   * session of from the store (the take then goes on from its stored seq).
   */
  restore?: (doc: string) => Promise<void>;
  /**
   * Applies and publishes a batch in process: every batch when the state is
   * in memory, and jobs of an older release's layout (apply-6).
   */
  processor: BatchProcessor;
  /**
   * Which worker answers a document's wake-ups first (see WorkerRoster).
   * Absent: this worker answers every wake-up.
   */
  roster?: WorkerRoster;
  /** Unique per process: the owner written into claims. */
  owner: string;
  log: Logger;
  /** Documents processed at once by this process. */
  concurrency: number;
  /** Jobs (each one gateway's batch) read per apply. */
  jobsPerBatch: number;
  /** Op messages applied together at most (ORDERING_BATCH_MAX). */
  batchMax: number;
  /** Events kept per document history (HISTORY_LENGTH). */
  historyLength: number;
  /** DOC_MAX_BYTES. */
  maxDocBytes: number;
  /**
   * REDIS_WAIT_REPLICAS and REDIS_WAIT_TIMEOUT_MS: replicas an applied batch
   * must reach before its outcomes go out (see ReplicaWait). @default 0
   */
  waitReplicas?: number | 'auto';
  waitTimeoutMs?: number;
  /** Lease of a claim; every batch renews it, so it lasts while work keeps coming. */
  leaseMs: number;
  /** How often the ready sets are read, for wake-ups lost on the way. */
  pollMs: number;
  /**
   * Seconds a document's ordering keys (queue, fence) live after its last op,
   * like its session (REDIS_SESSION_TTL); 0 keeps them.
   */
  keyTtlSeconds: number;
}
