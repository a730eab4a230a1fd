import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { FlowConfig } from '../config';
import { StartupError } from '../config/startup-error';
import { multiProcessSafe, usesRedis, type Role } from '../config/topology';
import type { Metrics } from '../observability/metrics';
import { RedisResources } from '../redis/resources';
import { SingleProcessLease } from '../redis/single-process-lease';
import { RedisKeys } from '../redis/keys';
import { createCollaborationService } from '../services/collaboration';
import { sweepUnsaved } from './unsaved-sweep';
import type { CollaborationService } from '../services/collaboration/collaboration-service';
import type { BatchProcessor } from '../services/event-ordering/event-ordering-service';
import { createWebSocketManager } from '../services/websocket-manager';
import type { WebSocketManager } from '../services/websocket-manager/websocket-manager';
import { createDocumentProcessor } from '../worker/document-processor';
import { createOutcomePublisher, type OutcomePublisher } from '../worker/outcome-publisher';
import { createDocumentStore } from '../services/document-store';
import type { CloseSteps } from './close-steps';
import { startDocumentSaving, type DocumentSaving } from './document-saving';
import type { ApplyOutcome } from '../document/op-submission';

/** At start, how long the process waits for Redis before it serves without it (and says so). */
const STARTUP_REDIS_WAIT_MS = 3000;

/** How long a worker retries a transient Redis failure before refusing a batch. */
const TRANSIENT_RETRY = { totalMs: 30_000, initialDelayMs: 100 };

/** What both roles share: Redis, the collaboration and WebSocket services, the apply step. */
export interface FlowServices {
  redis: RedisResources | null;
  collaboration: CollaborationService;
  websockets: WebSocketManager;
  /** Applies a batch, then publishes its outcomes; every ordering backend runs it. */
  processor: BatchProcessor;
  /** The publishing half of `processor`, for batches the ordering worker applied in Redis. */
  publish: OutcomePublisher;
  /** Null when no document store is configured (DOCUMENT_STORE=none). */
  saving: DocumentSaving | null;
}

/** What the gateway of this process (when it runs one) is told by the services. */
export interface GatewayHooks {
  /** The fan-out was re-established: the gateway refreshes its feeds. */
  onWebSocketsReconnected(): void;
  /**
   * Outcomes this process applied, before they are published: the gateway
   * answers its own clients from them, so an answer never depends on pub/sub.
   */
  onLocalOutcomes(doc: string, outcomes: ApplyOutcome[]): void;
}

/** Builds the services from the config, each closed by `steps`. */
export async function buildServices(
  config: FlowConfig,
  log: Logger,
  metrics: Metrics,
  steps: CloseSteps,
  hooks: GatewayHooks,
  role: Role = 'all',
): Promise<FlowServices> {
  const redis = usesRedis(config) ? new RedisResources(config, log, metrics) : null;
  if (redis) {
    steps.add(() => redis.close());
    if (await redis.waitReady(STARTUP_REDIS_WAIT_MS)) {
      const problem = await redis.clusterNodeProblem();
      if (problem) throw new StartupError(problem);
    }
  }
  if (redis && !multiProcessSafe(config)) {
    const lease = await SingleProcessLease.acquire(
      redis.commands,
      new RedisKeys(config.redis.keyPrefix).singleProcessLease(),
      `${config.nodeId}:${randomUUID().slice(0, 8)}`,
      log,
    );
    steps.add(() => lease.release());
    log.warn('this flag combination keeps a service in memory: it serves one process only');
  }
  const websockets = createWebSocketManager(config, log, redis, () =>
    hooks.onWebSocketsReconnected(),
  );
  steps.add(() => websockets.close());
  // Opened once this process is known to be the only one (lease above; the
  // embedded store's own lock file keeps a second `npm start` away).
  const store = await createDocumentStore(config, log, {
    severalProcesses: role !== 'all' || multiProcessSafe(config),
  });
  let saving: DocumentSaving | null = null;
  const owner = `${config.nodeId}:${randomUUID().slice(0, 8)}`;
  const collaboration = createCollaborationService(
    config,
    log,
    redis,
    store ? { load: (doc) => store.load(doc), owner } : undefined,
  );
  steps.add(() => collaboration.close());
  if (store) {
    saving = startDocumentSaving(config, log, metrics, steps, store, collaboration, websockets);
    if (redis && collaboration.mode === 'redis')
      sweepUnsaved(config, log, redis, saving, owner, steps);
  }
  const scheduler = saving?.scheduler;
  const publishing = {
    websockets,
    log,
    metrics,
    onApplied: scheduler && ((doc: string, seq: number) => scheduler.notify(doc, seq)),
    // In memory, publishing delivers in this process already.
    ...(websockets.mode === 'redis' ? { onOutcomes: hooks.onLocalOutcomes } : {}),
  };
  const processor = createDocumentProcessor(
    { ...publishing, collaboration },
    config.flags.eventOrdering ? TRANSIENT_RETRY : undefined,
  );
  const publish = createOutcomePublisher(publishing);
  return { redis, collaboration, websockets, processor, publish, saving };
}
