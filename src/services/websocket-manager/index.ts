import type { RedisResources } from '../../redis/resources';
import type { FlowConfig } from '../../config';
import type { Logger } from 'pino';
import type { WebSocketManager } from './websocket-manager';
import { MemoryWebSocketManager } from './websocket-manager.memory';
import { RedisWebSocketManager } from './websocket-manager.redis';

/** Heartbeats every second; a node silent for this long is left out of /ws/stats. */
const NODE_STALE_MS = 10_000;

/** The only reader of USE_REDIS_WEBSOCKETS. */
export function createWebSocketManager(
  config: FlowConfig,
  log: Logger,
  redis: RedisResources | null,
  onResubscribed: () => void,
): WebSocketManager {
  if (config.flags.websockets && redis) {
    log.info('✅ [RedisDI] Using Redis WebSocket Manager');
    return new RedisWebSocketManager({
      client: redis.commands,
      subscriber: redis.subscriber,
      sharded: redis.sharded,
      channelOf: (doc) => redis.keys.doc(doc).channel,
      registryKey: redis.keys.nodes(),
      staleAfterMs: NODE_STALE_MS,
      log,
      onResubscribed,
    });
  }
  log.warn('⚠️ [RedisDI] Using In-Memory WebSocket Manager (fan-out within this process only)');
  return new MemoryWebSocketManager();
}
