import type { FlowConfig } from './';
import { StartupError } from './startup-error';

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
  // With USE_REDIS_EVENT_ORDERING=false a worker has nothing to consume and idles (workerIdle).
  if (role === 'worker' && flags.eventOrdering && !(flags.collaboration && flags.websockets)) {
    throw new StartupError(
      'the worker role applies ops from the Redis queues to the document state in Redis and sends results to ' +
        'gateways over Redis: set USE_REDIS_COLLABORATION=true and USE_REDIS_WEBSOCKETS=true too, ' +
        'or run "flow all" for one process',
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

/**
 * A worker started while ordering is in-process (USE_REDIS_EVENT_ORDERING
 * false) has nothing to do: it idles instead of failing, so that flipping the
 * flags and restarting every pm2 app (a migration stage, or its rollback)
 * needs no change of the app list.
 */
export function workerIdle(config: FlowConfig, role: Role): boolean {
  return role === 'worker' && !config.flags.eventOrdering;
}
