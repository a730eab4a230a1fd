import type { RedisEndpoint, RedisServerAddresses } from './redis-harness';
import { randomKeyPrefix } from './redis-harness';

export type RedisTarget = 'single' | 'cluster';

/** Environment variables that point a Flow process at the test Redis, under a fresh key prefix. */
export function redisEnv(
  addresses: RedisServerAddresses,
  target: RedisTarget,
  prefix = randomKeyPrefix(),
): Record<string, string> {
  const where: Record<string, string> =
    target === 'cluster'
      ? {
          REDIS_CLUSTER_NODES: addresses.cluster
            .map((n: RedisEndpoint) => `${n.host}:${n.port}`)
            .join(','),
        }
      : { REDIS_HOST: addresses.single.host, REDIS_PORT: String(addresses.single.port) };
  return { ...where, REDIS_KEY_PREFIX: prefix, REDIS_RETRY_DELAY: '50' };
}

export interface FlagSet {
  websockets: boolean;
  collaboration: boolean;
  eventOrdering: boolean;
}

/** Every combination of the three USE_REDIS_* flags. */
export const ALL_FLAG_SETS: FlagSet[] = [false, true].flatMap((websockets) =>
  [false, true].flatMap((collaboration) =>
    [false, true].map((eventOrdering) => ({ websockets, collaboration, eventOrdering })),
  ),
);

export function flagEnv(flags: FlagSet): Record<string, string> {
  return {
    USE_REDIS_WEBSOCKETS: String(flags.websockets),
    USE_REDIS_COLLABORATION: String(flags.collaboration),
    USE_REDIS_EVENT_ORDERING: String(flags.eventOrdering),
  };
}

export function flagName(flags: FlagSet): string {
  const on = Object.entries(flags)
    .filter(([, value]) => value)
    .map(([name]) => name);
  return on.length === 0 ? 'all in memory' : `redis: ${on.join('+')}`;
}
