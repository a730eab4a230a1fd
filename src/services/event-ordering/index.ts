import type { RedisResources } from '../../redis/resources';
import type { FlowConfig } from '../../config';
import type { Logger } from 'pino';
import { unavailableFrom } from '../../redis';
import { UnavailableError } from '../../protocol';
import type { BatchProcessor, EventOrderingService } from './event-ordering-service';
import { MemoryEventOrderingService } from './event-ordering.memory';
import { RedisEventOrderingService } from './event-ordering.redis';
import { RedisKeys } from '../../redis/keys';

/** The only reader of USE_REDIS_EVENT_ORDERING. */
export function createEventOrderingService(
  config: FlowConfig,
  processor: BatchProcessor,
  log: Logger,
  redis: RedisResources | null,
): EventOrderingService {
  if (config.flags.eventOrdering && redis) {
    log.info('✅ [RedisDI] Using Redis Event Ordering Service');
    return new RedisEventOrderingService({
      client: redis.commands,
      keys: new RedisKeys(config.redis.keyPrefix).ordering,
      sharded: redis.sharded,
      log,
      batchMax: config.ordering.batchMax,
      keyTtlSeconds: config.redis.sessionTtlSeconds,
      toUnavailable: (err) =>
        unavailableFrom(err) ??
        new UnavailableError(
          'the ordering queue cannot take the op now; nothing was applied; retry',
        ),
    });
  }
  log.warn(
    '⚠️ [RedisDI] Using In-Memory Event Ordering Service (orders the ops of this process only)',
  );
  return new MemoryEventOrderingService(processor, config.ordering.batchMax, (err, doc) =>
    log.error({ err, doc }, 'ordering batch failed'),
  );
}
