import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Cluster-wide figures of Redis ordering, read from the ready sets at scrape time. */
export interface SharedBacklog {
  /** Documents with queued op messages (claimed or not). */
  documents: number;
  /** Age of the oldest document with queued op messages that no worker has claimed; 0 when none. */
  oldestWaitSeconds: number;
}

/** Where the ordering gauges come from; set once the ordering service exists. */
export interface OrderingBacklog {
  /** Op messages held by this process: not yet applied (memory ordering) or not yet queued (Redis). */
  localDepth(): number;
  /** Redis ordering only; rejects when Redis does not answer. */
  shared?(): Promise<SharedBacklog>;
}

/** A scrape never waits longer than this for Redis; the gauges then keep their last value. */
const SHARED_READ_TIMEOUT_MS = 1000;
/** Two gauges read the same figures; one Redis read serves a whole scrape. */
const SHARED_READ_REUSE_MS = 500;

/**
 * Every Prometheus metric of a process, on a registry of its own so that two
 * servers in one test process do not collide. Names are what the Grafana
 * dashboard (grafana/flow-realtime.json) queries; a test keeps them in step.
 */
export class Metrics {
  readonly registry = new Registry();
  private backlog: OrderingBacklog | undefined;
  private sharedRead: { at: number; result: Promise<SharedBacklog | undefined> } | undefined;
  readonly connections = new Gauge({
    name: 'flow_connections',
    help: 'Open WebSocket connections on this gateway',
    registers: [this.registry],
  });
  readonly documents = new Gauge({
    name: 'flow_documents_open',
    help: 'Documents with at least one member on this gateway',
    registers: [this.registry],
  });
  readonly messagesIn = new Counter({
    name: 'flow_messages_in_total',
    help: 'WebSocket messages received, by type',
    labelNames: ['type'] as const,
    registers: [this.registry],
  });
  readonly messagesOut = new Counter({
    name: 'flow_messages_out_total',
    help: 'WebSocket messages sent directly (acks, replies, errors); fan-out events are counted in flow_events_delivered_total',
    registers: [this.registry],
  });
  readonly eventsDelivered = new Counter({
    name: 'flow_events_delivered_total',
    help: 'Events fanned out to documents on this gateway (one per event, not per recipient)',
    registers: [this.registry],
  });
  readonly opsApplied = new Counter({
    name: 'flow_ops_applied_total',
    help: 'Op messages applied (each becomes one seq) by this process',
    registers: [this.registry],
  });
  readonly errors = new Counter({
    name: 'flow_errors_total',
    help: 'Error replies sent to clients, by code',
    labelNames: ['code'] as const,
    registers: [this.registry],
  });
  readonly ackLatency = new Histogram({
    name: 'flow_ack_latency_seconds',
    help: 'From an op message received to its ack sent, on the gateway',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });
  readonly gaps = new Counter({
    name: 'flow_feed_gaps_total',
    help: 'Seq gaps seen on a document feed (a lost pub/sub message)',
    registers: [this.registry],
  });
  readonly recoveries = new Counter({
    name: 'flow_feed_recoveries_total',
    help: 'Gap recoveries from the history, by result',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });
  readonly slowConsumerCloses = new Counter({
    name: 'flow_slow_consumer_closes_total',
    help: 'Connections closed with 1013 because their send buffer passed the limit',
    registers: [this.registry],
  });
  readonly queueDepth = new Gauge({
    name: 'flow_ordering_queue_depth',
    help: 'Op messages this process holds for ordering: waiting to be applied (in-memory ordering) or to be written to their Redis queue (Redis ordering)',
    registers: [this.registry],
    collect: () => {
      if (this.backlog) this.queueDepth.set(this.backlog.localDepth());
    },
  });
  readonly documentsWaiting = new Gauge({
    name: 'flow_ordering_documents_waiting',
    help: 'Documents with op messages queued in Redis, over the whole cluster (Redis ordering only)',
    registers: [this.registry],
    collect: async () => {
      const shared = await this.readShared();
      if (shared) this.documentsWaiting.set(shared.documents);
    },
  });
  readonly oldestWait = new Gauge({
    name: 'flow_ordering_oldest_wait_seconds',
    help: 'Age of the oldest document with queued op messages that no worker has claimed, over the whole cluster (Redis ordering only); grows when workers are down or saturated',
    registers: [this.registry],
    collect: async () => {
      const shared = await this.readShared();
      if (shared) this.oldestWait.set(shared.oldestWaitSeconds);
    },
  });
  readonly orderingLag = new Histogram({
    name: 'flow_ordering_lag_seconds',
    help: 'From an op message accepted for ordering to its apply, in the process that applies it',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly redisErrors = new Counter({
    name: 'flow_redis_errors_total',
    help: 'Redis errors: failed commands (source="command") and connection error events (source="connection"), by kind (unreachable, closed, timeout, cluster-down, out-of-memory, auth, reply, ...)',
    labelNames: ['source', 'kind'] as const,
    registers: [this.registry],
  });
  readonly redisSlowCommands = new Counter({
    name: 'flow_redis_slow_commands_total',
    help: 'Redis commands slower than REDIS_SLOW_COMMAND_MS, by command',
    labelNames: ['command'] as const,
    registers: [this.registry],
  });

  /** Feeds the ordering gauges from now on. */
  trackOrdering(backlog: OrderingBacklog): void {
    this.backlog = backlog;
  }

  private readShared(): Promise<SharedBacklog | undefined> {
    const read = this.backlog?.shared?.bind(this.backlog);
    if (!read) return Promise.resolve(undefined);
    const now = Date.now();
    if (this.sharedRead && now - this.sharedRead.at < SHARED_READ_REUSE_MS)
      return this.sharedRead.result;
    let timer: NodeJS.Timeout | undefined;
    const result = Promise.race([
      read(),
      new Promise<undefined>((resolve) => {
        timer = setTimeout(() => resolve(undefined), SHARED_READ_TIMEOUT_MS);
        timer.unref();
      }),
    ])
      .catch(() => undefined)
      .finally(() => clearTimeout(timer));
    this.sharedRead = { at: now, result };
    return result;
  }

  constructor(defaults = true) {
    if (defaults) collectDefaultMetrics({ register: this.registry });
  }
}
