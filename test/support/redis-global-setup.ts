import type { TestProject } from 'vitest/node';
import { startRedisServers } from './redis-harness';

/**
 * vitest globalSetup: one single Redis and one 3-master cluster for the whole
 * run, handed to the test files as `inject('flowRedis')` (see
 * `useRedisServers`). Enable with `globalSetup: ['test/support/redis-global-setup.ts']`.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const servers = await startRedisServers();
  project.provide('flowRedis', servers.addresses);
  return () => servers.stop();
}
