import type { RedisResources } from '../../redis/resources';
import type { FlowConfig } from '../../config';
import type { Logger } from 'pino';
import type { ClientIdRegistry } from './client-id-registry';
import { MemoryClientIdRegistry } from './client-ids.memory';
import { RedisClientIdRegistry } from './client-ids.redis';

/**
 * Client ids follow the WebSocket manager's mode (USE_REDIS_WEBSOCKETS):
 * gateways that share connections across processes share client ids too.
 */
export function createClientIdRegistry(
  config: FlowConfig,
  log: Logger,
  redis: RedisResources | null,
): ClientIdRegistry {
  // Ownership lasts as long as the records the id names (dedupe, presence).
  const retentionSeconds = config.redis.sessionTtlSeconds;
  if (config.flags.websockets && redis) {
    return new RedisClientIdRegistry({
      client: redis.commands,
      subscriber: redis.subscriber,
      sharded: redis.sharded,
      keyOf: (client) => redis.keys.clientId(client),
      nodeChannelOf: (node) => redis.keys.nodeChannel(node),
      retentionSeconds,
      log,
    });
  }
  return new MemoryClientIdRegistry({ retentionSeconds });
}
