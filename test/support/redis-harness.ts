import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, inject } from 'vitest';
import { configFrom, type FlowConfig } from '../../src/config';
import {
  containerRuntimeAvailable,
  startRedisClusterContainers,
  startRedisContainer,
} from './redis-containers';
import { startRedisClusterProcesses, startRedisProcess } from './redis-processes';
import type {
  RedisEndpoint,
  RedisServerAddresses,
  StartedRedis,
  StartedRedisCluster,
} from './redis-types';

export type {
  RedisEndpoint,
  RedisServerAddresses,
  StartedRedis,
  StartedRedisCluster,
} from './redis-types';

/**
 * Redis for tests: Testcontainers when a Docker engine answers, otherwise
 * `redis-server` processes from PATH. `FLOW_TEST_REDIS=process|container`
 * forces one. Tests isolate by random key prefixes and document ids and never
 * flush: the servers may be shared by every file of the run.
 *
 * Two ways to use it:
 * - `useRedisServers()` in a test file: one single Redis and one 3-master
 *   cluster for the whole run when the vitest globalSetup
 *   `test/support/redis-global-setup.ts` is configured, else started for
 *   this file in beforeAll and stopped in afterAll.
 * - `startRedis(args)` / `startRedisCluster()` for a server a test
 *   reconfigures (requirepass, maxmemory): the test stops it itself.
 */

declare module 'vitest' {
  export interface ProvidedContext {
    flowRedis: RedisServerAddresses | undefined;
  }
}

type Backend = 'container' | 'process';
let backend: Promise<Backend> | undefined;

export function redisBackend(): Promise<Backend> {
  backend ??= (async () => {
    const forced = process.env.FLOW_TEST_REDIS;
    if (forced === 'process' || forced === 'container') return forced;
    return (await containerRuntimeAvailable()) ? 'container' : 'process';
  })();
  return backend;
}

/** A single Redis; `args` are extra redis-server arguments such as `['--requirepass', 'x']`. */
export async function startRedis(args: readonly string[] = []): Promise<StartedRedis> {
  return (await redisBackend()) === 'container'
    ? startRedisContainer(args)
    : startRedisProcess(args);
}

export async function startRedisCluster(): Promise<StartedRedisCluster> {
  return (await redisBackend()) === 'container'
    ? startRedisClusterContainers()
    : startRedisClusterProcesses();
}

/** One single Redis and one cluster, started together; for globalSetup or a file's beforeAll. */
export async function startRedisServers(): Promise<{
  addresses: RedisServerAddresses;
  stop(): Promise<void>;
}> {
  const [single, cluster] = await Promise.allSettled([startRedis(), startRedisCluster()]);
  if (single.status === 'rejected' || cluster.status === 'rejected') {
    if (single.status === 'fulfilled') await single.value.stop();
    if (cluster.status === 'fulfilled') await cluster.value.stop();
    throw single.status === 'rejected' ? single.reason : (cluster as PromiseRejectedResult).reason;
  }
  return {
    addresses: {
      single: { host: single.value.host, port: single.value.port },
      cluster: cluster.value.nodes,
    },
    stop: async () => {
      await Promise.allSettled([single.value.stop(), cluster.value.stop()]);
    },
  };
}

/**
 * The shared servers of this run (from globalSetup) or of this file. Read
 * `addresses` inside tests and hooks, not while collecting them.
 */
export function useRedisServers(): { readonly addresses: RedisServerAddresses } {
  let addresses: RedisServerAddresses | undefined;
  let stop: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    addresses = inject('flowRedis');
    if (addresses) return;
    const started = await startRedisServers();
    addresses = started.addresses;
    stop = started.stop;
  });
  afterAll(async () => {
    await stop?.();
  });
  return {
    get addresses(): RedisServerAddresses {
      if (!addresses)
        throw new Error('Redis servers are not started yet: read them inside a test or hook');
      return addresses;
    },
  };
}

/** A key prefix no other test uses, e.g. `flow-test-3f9a1c2b:`. */
export function randomKeyPrefix(): string {
  return `flow-test-${randomBytes(4).toString('hex')}:`;
}

export function randomDocId(label = 'doc'): string {
  return `${label}-${randomBytes(6).toString('hex')}`;
}

/**
 * A validated FlowConfig pointing at a single Redis (one endpoint) or a
 * cluster (a list), with a random key prefix, quiet logs and short retries;
 * `vars` override any environment variable.
 */
export function redisTestConfig(
  target: RedisEndpoint | readonly RedisEndpoint[],
  vars: Record<string, string> = {},
): FlowConfig {
  const where: Record<string, string> = Array.isArray(target)
    ? { REDIS_CLUSTER_NODES: target.map((n) => `${n.host}:${n.port}`).join(',') }
    : {
        REDIS_HOST: (target as RedisEndpoint).host,
        REDIS_PORT: String((target as RedisEndpoint).port),
      };
  return configFrom({
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    REDIS_KEY_PREFIX: randomKeyPrefix(),
    REDIS_RETRY_DELAY: '50',
    ...where,
    ...vars,
  });
}
