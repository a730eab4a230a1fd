import type { FlowConfig } from '../../config';
import type { Logger } from '../../observability/logger';
import { StartupError } from '../startup-error';
import type { BatchProcessor, EventOrderingService } from './event-ordering-service';
import { MemoryEventOrderingService } from './event-ordering.memory';

/** The only reader of USE_REDIS_EVENT_ORDERING. */
export function createEventOrderingService(
  config: FlowConfig,
  processor: BatchProcessor,
  log: Logger,
): EventOrderingService {
  if (config.flags.eventOrdering) {
    throw new StartupError(
      'USE_REDIS_EVENT_ORDERING=true, but this build has no Redis event ordering service yet; set USE_REDIS_EVENT_ORDERING=false',
    );
  }
  log.warn(
    '⚠️ [RedisDI] Using In-Memory Event Ordering Service (orders the ops of this process only)',
  );
  return new MemoryEventOrderingService(processor, config.ordering.batchMax, (err, doc) =>
    log.error({ err, doc }, 'ordering batch failed'),
  );
}
