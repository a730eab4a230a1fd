import type { FlowConfig } from '../../config';
import type { Logger } from '../../observability/logger';
import { StartupError } from '../startup-error';
import type { CollaborationService } from './collaboration-service';
import { MemoryCollaborationService } from './collaboration.memory';

/** The only reader of USE_REDIS_COLLABORATION. */
export function createCollaborationService(config: FlowConfig, log: Logger): CollaborationService {
  if (config.flags.collaboration) {
    throw new StartupError(
      'USE_REDIS_COLLABORATION=true, but this build has no Redis collaboration service yet; set USE_REDIS_COLLABORATION=false',
    );
  }
  log.warn(
    '⚠️ [RedisDI] Using In-Memory Collaboration Service (document state lives in this process only)',
  );
  return new MemoryCollaborationService({
    historyLength: config.history.length,
    sessionTtlSeconds: config.redis.sessionTtlSeconds,
  });
}
