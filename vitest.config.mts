import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // One single Redis and one 3-master cluster for the whole run.
    globalSetup: ['test/support/redis-global-setup.ts'],
  },
});
