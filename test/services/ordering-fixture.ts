import pino from 'pino';
import { RedisResources } from '../../src/redis/resources';
import type { FlowConfig } from '../../src/config';
import { UnavailableError } from '../../src/protocol';
import { unavailableFrom } from '../../src/redis';
import { RedisKeys } from '../../src/redis/keys';
import type { ApplyOutcome, OpSubmission } from '../../src/document/op-submission';
import {
  RedisEventOrderingService,
  type RedisOrderingOptions,
} from '../../src/services/event-ordering/event-ordering.redis';
import { OrderingKeys } from '../../src/redis/ordering-keys';
import { createRedisCollaborationService } from '../../src/services/collaboration/collaboration.redis';
import { OrderingWorker } from '../../src/worker/ordering-worker';
import type { OrderingWorkerOptions } from '../../src/worker/ordering-worker-options';

/**
 * Gateways and workers of Redis ordering on real Redis, for the tests: each
 * with its own connections, all under the config's random key prefix.
 */
export const quiet = pino({ level: 'silent' });

/** What the workers published: per document, the outcomes in publish order. */
export class OutcomeLog {
  readonly outcomes = new Map<string, ApplyOutcome[]>();
  readonly batchSizes: number[] = [];
  private readonly active = new Set<string>();
  overlaps = 0;

  readonly publish = async (doc: string, outcomes: ApplyOutcome[]): Promise<void> => {
    if (this.active.has(doc)) this.overlaps++;
    this.active.add(doc);
    this.batchSizes.push(outcomes.length);
    await new Promise((resolve) => setTimeout(resolve, 1));
    const list = this.outcomes.get(doc) ?? [];
    list.push(...outcomes);
    this.outcomes.set(doc, list);
    this.active.delete(doc);
  };

  applied(doc: string): number[] {
    return (this.outcomes.get(doc) ?? []).filter((o) => o.kind === 'applied').map((o) => o.cseq);
  }
}

export class OrderingFixture {
  readonly keys: OrderingKeys;
  readonly docKeys: RedisKeys;
  private readonly closers: Array<() => Promise<void>> = [];

  constructor(readonly config: FlowConfig) {
    this.keys = new OrderingKeys(config.redis.keyPrefix);
    this.docKeys = new RedisKeys(config.redis.keyPrefix);
  }

  resources(): RedisResources {
    const redis = new RedisResources(this.config, quiet);
    this.closers.push(() => redis.close());
    return redis;
  }

  gateway(
    options: Partial<RedisOrderingOptions> = {},
    make = (o: RedisOrderingOptions) => new RedisEventOrderingService(o),
  ): RedisEventOrderingService {
    const redis = this.resources();
    const service = make({
      client: redis.commands,
      keys: this.keys,
      sharded: redis.sharded,
      log: quiet,
      batchMax: this.config.ordering.batchMax,
      keyTtlSeconds: this.config.redis.sessionTtlSeconds,
      toUnavailable: (err) => unavailableFrom(err) ?? new UnavailableError(String(err)),
      ...options,
    });
    this.closers.push(() => service.close());
    return service;
  }

  async worker(
    log: OutcomeLog,
    options: Partial<OrderingWorkerOptions> = {},
  ): Promise<OrderingWorker> {
    const redis = this.resources();
    // The in-process apply (apply-6), for jobs the script only takes.
    const collaboration = createRedisCollaborationService(this.config, quiet);
    this.closers.push(() => collaboration.close());
    const worker = new OrderingWorker({
      client: redis.commands,
      subscriber: redis.subscriber,
      sharded: redis.sharded,
      keys: this.keys,
      docKeys: this.docKeys,
      publish: log.publish,
      stateInRedis: true,
      processor: async (doc, batch) => log.publish(doc, await collaboration.applyBatch(doc, batch)),
      owner: options.owner ?? `worker-${Math.random().toString(36).slice(2, 8)}`,
      log: quiet,
      concurrency: 8,
      jobsPerBatch: 16,
      batchMax: options.batchMax ?? this.config.ordering.batchMax,
      historyLength: this.config.history.length,
      maxDocBytes: this.config.limits.docMaxBytes,
      leaseMs: options.leaseMs ?? 2000,
      pollMs: options.pollMs ?? 200,
      keyTtlSeconds: 0,
      ...options,
    });
    await worker.start();
    this.closers.push(() => worker.close());
    return worker;
  }

  async close(): Promise<void> {
    for (const close of this.closers.splice(0).reverse()) await close().catch(() => undefined);
  }
}

export const submission = (doc: string, client: string, cseq: number): OpSubmission => ({
  doc,
  client,
  cseq,
  ops: [{ op: 'set', coll: 'c', id: client, value: { cseq } }],
});
