import type { RedisResources } from '../../app/redis-resources';
import type { FlowConfig } from '../../config';
import type { Logger } from '../../observability/logger';
import type { CollaborationService } from './collaboration-service';
import { MemoryCollaborationService } from './collaboration.memory';
import { RedisCollaborationService } from './collaboration.redis';

/** The only reader of USE_REDIS_COLLABORATION. */
export function createCollaborationService(
  config: FlowConfig,
  log: Logger,
  redis: RedisResources | null,
): CollaborationService {
  if (config.flags.collaboration && redis) {
    log.info('✅ [RedisDI] Using Redis Collaboration Service');
    return new RedisCollaborationService({
      redis: redis.commands,
      log,
      keys: redis.keys,
      historyLength: config.history.length,
      sessionTtlSeconds: config.redis.sessionTtlSeconds,
    });
  }
  log.warn(
    '⚠️ [RedisDI] Using In-Memory Collaboration Service (document state lives in this process only)',
  );
  return new MemoryCollaborationService({
    historyLength: config.history.length,
    sessionTtlSeconds: config.redis.sessionTtlSeconds,
  });
}
