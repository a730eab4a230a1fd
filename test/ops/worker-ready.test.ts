import { spawn } from 'node:child_process';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { useRedisServers } from '../support/redis-harness';
import { flagEnv, redisEnv } from '../support/redis-env';

/**
 * pm2 (wait_ready) counts a process as up when it sends 'ready', and a
 * reload stops the next old instance then. A worker must send it only once
 * it consumes: its wake-up channels subscribed (and a first poll done).
 * Sent earlier, a reload of two workers leaves a moment with none.
 */
const servers = useRedisServers();
const ROOT = path.resolve(__dirname, '../..');

describe('a worker under pm2', () => {
  const stops: Array<() => void> = [];
  afterEach(() => {
    for (const stop of stops.splice(0)) stop();
  });

  it("sends 'ready' only once it is subscribed to its wake-ups", async () => {
    const env = {
      ...redisEnv(servers.addresses, 'single'),
      ...flagEnv({ websockets: true, collaboration: true, eventOrdering: true }),
    };
    const prefix = env.REDIS_KEY_PREFIX as string;
    const redis = new Redis(servers.addresses.single.port, servers.addresses.single.host);
    stops.push(() => redis.disconnect());
    const worker = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'worker'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'warn', DOCUMENT_STORE: 'none', ...env },
      stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
    });
    stops.push(() => worker.kill('SIGKILL'));

    const subscribedAtReady = await new Promise<string[]>((resolve, reject) => {
      worker.once('exit', (code) => reject(new Error(`the worker exited with ${code}`)));
      worker.on('message', (message) => {
        // Read at once: what Redis knows when pm2 would stop the previous worker.
        if (message === 'ready')
          resolve(redis.pubsub('CHANNELS', `${prefix}ordering-wake:*`) as Promise<string[]>);
      });
    });
    expect(subscribedAtReady.length).toBeGreaterThan(0);
  }, 30_000);
});
