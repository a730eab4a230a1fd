import type { RedisResources } from '../../redis/resources';
import type { FlowConfig } from '../../config';
import type { Logger } from 'pino';
import type { CollaborationService } from './collaboration-service';
import {
  MemoryCollaborationService,
  type MemoryCollaborationOptions,
} from './collaboration.memory';
import { seedFromRedis } from './redis-seed';
import { RedisCollaborationService } from './collaboration.redis';

/**
 * What the services take from a document store: `load` (see
 * MemoryCollaborationOptions); `owner`, this process in Redis saver leases.
 */
export type DurableDocuments = Required<Pick<MemoryCollaborationOptions, 'load'>> & {
  owner: string;
};

/** The only reader of USE_REDIS_COLLABORATION. */
export function createCollaborationService(
  config: FlowConfig,
  log: Logger,
  redis: RedisResources | null,
  durable?: DurableDocuments,
): CollaborationService {
  if (config.flags.collaboration && redis) {
    log.info('✅ [RedisDI] Using Redis Collaboration Service');
    return new RedisCollaborationService({
      redis: redis.commands,
      log,
      keys: redis.keys,
      historyLength: config.history.length,
      sessionTtlSeconds: config.redis.sessionTtlSeconds,
      waitReplicas: config.redis.waitReplicas,
      waitTimeoutMs: config.redis.waitTimeoutMs,
      maxDocBytes: config.limits.docMaxBytes,
      ...(durable ? { durable: { load: durable.load, owner: durable.owner } } : {}),
    });
  }
  log.warn(
    '⚠️ [RedisDI] Using In-Memory Collaboration Service (document state lives in this process only)',
  );
  let seed: MemoryCollaborationOptions['seed'];
  if (config.memorySeedFromRedis && redis) {
    log.info(
      'documents not yet in memory are loaded from Redis on first open (MEMORY_SEED_FROM_REDIS)',
    );
    const source = new RedisCollaborationService({
      redis: redis.commands,
      log,
      keys: redis.keys,
      historyLength: config.history.length,
      sessionTtlSeconds: config.redis.sessionTtlSeconds,
    });
    seed = seedFromRedis(source, redis.commands, redis.keys);
  }
  return new MemoryCollaborationService({
    historyLength: config.history.length,
    maxDocBytes: config.limits.docMaxBytes,
    sessionTtlSeconds: config.redis.sessionTtlSeconds,
    seed,
    ...(durable ? { load: durable.load } : {}),
    onSeedError: (doc, err) =>
      log.warn(
        { doc, err: (err as Error).message },
        'could not load the document from Redis; it starts empty in memory',
      ),
  });
}
