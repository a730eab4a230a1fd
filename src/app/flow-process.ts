import { randomUUID } from 'node:crypto';
import type { FlowConfig } from '../config';
import { TokenVerifier } from '../auth/token-verifier';
import { GatewayServer } from '../gateway/gateway-server';
import { createLogger, type Logger } from '../observability/logger';
import { Metrics } from '../observability/metrics';
import { orderingBacklog } from '../observability/ordering-backlog';
import { GatewayHub } from '../realtime/hub';
import { createCollaborationService } from '../services/collaboration';
import { createEventOrderingService } from '../services/event-ordering';
import { createDocumentProcessor } from '../services/event-ordering/document-processor';
import type { EventOrderingService } from '../services/event-ordering/event-ordering-service';
import { OrderingKeys } from '../services/event-ordering/ordering-keys';
import { RedisKeys } from '../redis/keys';
import { OrderingWorker } from '../services/event-ordering/ordering-worker';
import { createOutcomePublisher } from '../services/event-ordering/outcome-publisher';
import { createWebSocketManager } from '../services/websocket-manager';
import { buildGatewayContext } from './gateway-context';
import { RedisResources } from './redis-resources';
import { SingleProcessLease } from './single-process-lease';
import { checkTopology, multiProcessSafe, usesRedis, workerIdle, type Role } from './topology';

export type { Role } from './topology';

export interface FlowProcess {
  readonly role: Role;
  /** The port the gateway listens on (0 for a worker). */
  readonly port: number;
  readonly log: Logger;
  readonly metrics: Metrics;
  /** Stops listening, closes clients with 1001, drains and closes services. Idempotent. */
  close(): Promise<void>;
}

export interface StartOptions {
  log?: Logger;
}

/** At start, how long the process waits for Redis before it serves without it (and says so). */
const STARTUP_REDIS_WAIT_MS = 3000;

/** One cleanup step (a service's close) may take this long before shutdown goes on without it. */
const CLOSE_STEP_LIMIT_MS = 2000;

/** How long a worker retries a transient Redis failure before refusing a batch. */
const TRANSIENT_RETRY = { totalMs: 30_000, initialDelayMs: 100 };

/**
 * The composition root of every role: builds the services from the config,
 * wires them, starts the gateway and the ordering worker. Only here do the
 * pieces meet.
 */
export async function startFlow(
  config: FlowConfig,
  role: Role,
  options: StartOptions = {},
): Promise<FlowProcess> {
  checkTopology(config, role);
  const log = options.log ?? createLogger(config, role);
  const metrics = new Metrics();
  if (workerIdle(config, role)) {
    log.warn(
      'worker idle: USE_REDIS_EVENT_ORDERING=false, so gateways apply ops themselves; this process waits for a restart with the flag on',
    );
    // Nothing else holds the event loop: keep the process up until it is stopped.
    const idle = setInterval(() => undefined, 60_000);
    return { role, port: 0, log, metrics, close: async () => clearInterval(idle) };
  }
  const started = Date.now();
  const closers: Array<() => Promise<void>> = [];
  const closeAll = async () => {
    // Every cleanup runs even when one fails; the last registered runs first.
    for (const closer of closers.splice(0).reverse()) {
      let timer: NodeJS.Timeout | undefined;
      const limit = new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          log.warn(
            { limitMs: CLOSE_STEP_LIMIT_MS },
            'a cleanup step did not finish in time; going on',
          );
          resolve();
        }, CLOSE_STEP_LIMIT_MS);
      });
      await Promise.race([
        closer().catch((err: unknown) => log.error({ err }, 'cleanup failed')),
        limit,
      ]);
      clearTimeout(timer);
    }
  };

  try {
    const redis = usesRedis(config) ? new RedisResources(config, log, metrics.redisObserver) : null;
    if (redis) closers.push(() => redis.close());
    if (redis) await redis.waitReady(STARTUP_REDIS_WAIT_MS);
    if (redis && !multiProcessSafe(config)) {
      const lease = await SingleProcessLease.acquire(
        redis.commands,
        `${config.redis.keyPrefix}single-process`,
        `${config.nodeId}:${randomUUID().slice(0, 8)}`,
        log,
      );
      closers.push(() => lease.release());
      log.warn('this flag combination keeps a service in memory: it serves one process only');
    }

    let hub: GatewayHub | undefined;
    const websockets = createWebSocketManager(config, log, redis, () => hub?.refreshAll());
    closers.push(() => websockets.close());
    const collaboration = createCollaborationService(config, log, redis);
    closers.push(() => collaboration.close());
    const processor = createDocumentProcessor(
      {
        collaboration,
        websockets,
        log,
        onApplied: (count) => metrics.opsApplied.inc(count),
        onLag: (seconds) => metrics.orderingLag.observe(seconds),
      },
      config.flags.eventOrdering ? TRANSIENT_RETRY : undefined,
    );

    let worker: OrderingWorker | undefined;
    if (redis && config.flags.eventOrdering && role !== 'gateway') {
      worker = new OrderingWorker({
        client: redis.commands,
        subscriber: redis.subscriber,
        sharded: redis.sharded,
        keys: new OrderingKeys(config.redis.keyPrefix),
        docKeys: new RedisKeys(config.redis.keyPrefix),
        publish: createOutcomePublisher({
          websockets,
          log,
          onApplied: (count) => metrics.opsApplied.inc(count),
          onLag: (seconds) => metrics.orderingLag.observe(seconds),
        }),
        ...(config.flags.collaboration ? {} : { processor }),
        owner: `${config.nodeId}:${randomUUID().slice(0, 8)}`,
        log,
        concurrency: config.ordering.workerConcurrency,
        jobsPerBatch: 16,
        batchMax: config.ordering.batchMax,
        historyLength: config.history.length,
        waitReplicas: config.redis.waitReplicas,
        waitTimeoutMs: config.redis.waitTimeoutMs,
        leaseMs: config.ordering.leaseMs,
        pollMs: 500,
        keyTtlSeconds: config.redis.sessionTtlSeconds,
      });
      // Not awaited: with Redis down at start the process still comes up,
      // answers /health with 503 and refuses ops with UNAVAILABLE.
      worker.start().catch((err: unknown) => log.error({ err }, 'ordering worker failed to start'));
      const running = worker;
      closers.push(() => running.close());
      log.info(
        { concurrency: config.ordering.workerConcurrency, leaseMs: config.ordering.leaseMs },
        'ordering worker started',
      );
    }

    if (role === 'worker') {
      const heartbeat = setInterval(() => {
        websockets
          .heartbeat({
            node: config.nodeId,
            role,
            connections: 0,
            documents: 0,
            updatedAt: Date.now(),
          })
          .catch(() => undefined);
      }, 1000);
      heartbeat.unref();
      closers.push(async () => clearInterval(heartbeat));
      let closing: Promise<void> | null = null;
      return { role, port: 0, log, metrics, close: () => (closing ??= closeAll()) };
    }

    const ordering: EventOrderingService = createEventOrderingService(
      config,
      processor,
      log,
      redis,
    );
    closers.push(() => ordering.close());
    metrics.trackOrdering(
      orderingBacklog(
        ordering,
        redis && { client: redis.commands, keys: new OrderingKeys(config.redis.keyPrefix) },
      ),
    );

    const verifier = new TokenVerifier(config.auth.jwtSecret);
    const context = buildGatewayContext({
      config,
      role,
      started,
      log,
      metrics,
      collaboration,
      websockets,
      ordering,
      redis,
      verifier,
      hub: () => hub,
    });
    const { limits } = config;
    const server = GatewayServer.create(
      {
        host: config.host,
        port: config.port,
        maxPayloadBytes: limits.maxPayloadBytes,
        maxBackpressureBytes: limits.maxBackpressureBytes,
        idleTimeoutSeconds: limits.idleTimeoutSeconds,
        authenticate: (token) => verifier.verify(token),
      },
      context,
      (broadcaster) =>
        (hub = new GatewayHub({
          config,
          collaboration,
          ordering,
          websockets,
          broadcaster,
          metrics,
          log,
          role,
        })),
    );
    const port = await server.listen(config.host, config.port, !multiProcessSafe(config));
    // Registered last so it runs first: stop taking clients before the services go.
    closers.push(() => server.close());
    log.info(
      { host: config.host, port },
      `Flow Realtime ${role} listening on ws://${config.host}:${port}/ws`,
    );

    let closing: Promise<void> | null = null;
    return { role, port, log, metrics, close: () => (closing ??= closeAll()) };
  } catch (err) {
    await closeAll();
    throw err;
  }
}
