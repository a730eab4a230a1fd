import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * Every Prometheus metric of a process, on a registry of its own so that two
 * servers in one test process do not collide.
 */
export class Metrics {
  readonly registry = new Registry();
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
    help: 'Op messages waiting in the ordering queues this process sees',
    registers: [this.registry],
  });
  readonly redisErrors = new Counter({
    name: 'flow_redis_errors_total',
    help: 'Redis command and connection errors',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });
  readonly redisSlowCommands = new Counter({
    name: 'flow_redis_slow_commands_total',
    help: 'Redis commands slower than REDIS_SLOW_COMMAND_MS',
    registers: [this.registry],
  });

  constructor(defaults = true) {
    if (defaults) collectDefaultMetrics({ register: this.registry });
  }
}
