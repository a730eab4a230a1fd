import type { FlowConfig } from '../config';
import { StartupError } from '../services/startup-error';

export type Role = 'all' | 'gateway' | 'worker';

/**
 * Whether several processes may share this configuration. Documents are
 * shared only when their state lives in Redis (USE_REDIS_COLLABORATION) and
 * every gateway hears the others' events (USE_REDIS_WEBSOCKETS); ordering may
 * stay in-process, because the atomic apply in Redis numbers the events of
 * all gateways in one order.
 */
export function multiProcessSafe(config: FlowConfig): boolean {
  return config.flags.collaboration && config.flags.websockets;
}

export function usesRedis(config: FlowConfig): boolean {
  const { flags } = config;
  return (
    flags.collaboration || flags.websockets || flags.eventOrdering || config.memorySeedFromRedis
  );
}

/**
 * Refuses role and flag combinations that cannot work, with what to change.
 * `all` runs every combination (in one process); the separate roles need
 * what lets them cooperate through Redis.
 */
export function checkTopology(config: FlowConfig, role: Role): void {
  const { flags } = config;
  if (role === 'worker' && !(flags.eventOrdering && flags.collaboration && flags.websockets)) {
    throw new StartupError(
      'the worker role applies ops from the Redis queues to the document state in Redis and sends results to ' +
        'gateways over Redis: set USE_REDIS_EVENT_ORDERING=true, USE_REDIS_COLLABORATION=true and ' +
        'USE_REDIS_WEBSOCKETS=true, or run "flow all" for one process',
    );
  }
  if (role === 'gateway' && flags.eventOrdering && !(flags.websockets && flags.collaboration)) {
    throw new StartupError(
      'with USE_REDIS_EVENT_ORDERING=true a gateway leaves ops to worker processes, which need the document ' +
        'state in Redis and reach gateways over Redis: set USE_REDIS_COLLABORATION=true and ' +
        'USE_REDIS_WEBSOCKETS=true, or run "flow all" for one process',
    );
  }
}
