import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { FlowConfig } from '../config';
import type { RedisResources } from '../redis/resources';
import { RedisKeys } from '../redis/keys';
import type {
  ClusterStats,
  WebSocketManager,
} from '../services/websocket-manager/websocket-manager';
import { OrderingWorker } from '../worker/ordering-worker';
import { WorkerRoster } from '../worker/worker-roster';
import type { CloseSteps } from './close-steps';
import type { FlowServices } from './services';

/** How often a worker reads the ready sets, under the wake-ups (milliseconds). */
const ORDERING_POLL_MS = 500;
/** Heartbeats into the node registry, and reads of it for the worker roster (milliseconds). */
const HEARTBEAT_MS = 1000;
/**
 * A worker whose heartbeat is older than this is out of the roster: a
 * crashed one's documents go to the others' wake-ups after this long (their
 * polls cover them meanwhile).
 */
const ROSTER_STALE_MS = 3000;

/**
 * Starts the ordering worker on the process's services: it claims documents
 * with queued op messages and applies their batches. With document state in
 * Redis the take script applies them and the worker publishes the outcomes;
 * with state in this process's memory it hands them to the processor.
 */
export function startOrderingWorker(
  config: FlowConfig,
  services: FlowServices & { redis: RedisResources },
  log: Logger,
  steps: CloseSteps,
): Promise<void> {
  const { redis } = services;
  const worker = new OrderingWorker({
    client: redis.commands,
    subscriber: redis.subscriber,
    sharded: redis.sharded,
    keys: new RedisKeys(config.redis.keyPrefix).ordering,
    docKeys: redis.keys,
    publish: services.publish,
    stateInRedis: services.collaboration.mode === 'redis',
    ...(services.saving && services.collaboration.restore
      ? { restore: services.collaboration.restore.bind(services.collaboration) }
      : {}),
    processor: services.processor,
    roster: new WorkerRoster({
      self: config.nodeId,
      readLive: async () => liveWorkers(await services.websockets.clusterStats()),
      refreshMs: HEARTBEAT_MS,
      departedForMs: 30_000,
      graceMs: 1000,
    }),
    owner: `${config.nodeId}:${randomUUID().slice(0, 8)}`,
    log,
    concurrency: config.ordering.workerConcurrency,
    // A job is what one gateway received for the document in one I/O turn,
    // often a single op message: declare enough to fill a batch.
    jobsPerBatch: config.ordering.batchMax,
    batchMax: config.ordering.batchMax,
    historyLength: config.history.length,
    maxDocBytes: config.limits.docMaxBytes,
    waitReplicas: config.redis.waitReplicas,
    waitTimeoutMs: config.redis.waitTimeoutMs,
    leaseMs: config.ordering.leaseMs,
    pollMs: ORDERING_POLL_MS,
    keyTtlSeconds: config.redis.sessionTtlSeconds,
  });
  // Not awaited here: with Redis down at start the process still comes up,
  // answers /health with 503 and refuses ops with UNAVAILABLE.
  // Its subscription waits for Redis as long as it takes: say so, then
  // say "started" only once it consumes.
  const redisReady = redis.commands.status === 'ready';
  if (!redisReady) log.warn('ordering worker waiting for Redis');
  const started = worker.start().then(
    () =>
      log.info(
        { concurrency: config.ordering.workerConcurrency, leaseMs: config.ordering.leaseMs },
        'ordering worker started',
      ),
    // The poller runs already: work is found, only later than a wake-up would.
    (err: unknown) =>
      log.warn(
        { err, pollMs: ORDERING_POLL_MS },
        'ordering worker started without wake-ups (its subscription failed); it finds documents by polling the ready sets',
      ),
  );
  steps.add(() => worker.close());
  // With Redis reachable, the process reports ready (pm2) once it consumes;
  // with Redis down it reports at once, as a gateway does, and says it waits.
  return redisReady ? started : Promise.resolve();
}

/** A worker-only process has no gateway to report it: it heartbeats into the registry itself. */
export function startWorkerHeartbeat(
  config: FlowConfig,
  websockets: WebSocketManager,
  steps: CloseSteps,
): void {
  const heartbeat = setInterval(() => {
    websockets
      .heartbeat({
        node: config.nodeId,
        role: 'worker',
        connections: 0,
        documents: 0,
        updatedAt: Date.now(),
      })
      .catch(() => undefined);
  }, HEARTBEAT_MS);
  heartbeat.unref();
  steps.add(async () => clearInterval(heartbeat));
}

/** Node ids of the processes that run an ordering worker and beat recently. */
export function liveWorkers(stats: ClusterStats | null, now = Date.now()): string[] {
  if (!stats) return [];
  return stats.nodes
    .filter((n) => (n.role === 'worker' || n.role === 'all') && now - n.updatedAt < ROSTER_STALE_MS)
    .map((n) => n.node);
}
