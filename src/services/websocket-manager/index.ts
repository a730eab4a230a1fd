import type { FlowConfig } from '../../config';
import type { Logger } from '../../observability/logger';
import { StartupError } from '../startup-error';
import type { WebSocketManager } from './websocket-manager';
import { MemoryWebSocketManager } from './websocket-manager.memory';

/** The only reader of USE_REDIS_WEBSOCKETS. */
export function createWebSocketManager(config: FlowConfig, log: Logger): WebSocketManager {
  if (config.flags.websockets) {
    throw new StartupError(
      'USE_REDIS_WEBSOCKETS=true, but this build has no Redis WebSocket manager yet; set USE_REDIS_WEBSOCKETS=false',
    );
  }
  log.warn('⚠️ [RedisDI] Using In-Memory WebSocket Manager (fan-out within this process only)');
  return new MemoryWebSocketManager();
}
