import pino from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { RedisResources } from '../../src/redis/resources';
import { redisTestConfig, startRedis, type StartedRedis } from '../support/redis-harness';

let redis: StartedRedis;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

it('adds its connection listeners once, however often the command connection is used (every /health reads it)', async () => {
  const resources = new RedisResources(
    redisTestConfig({ host: '127.0.0.1', port: redis.port }),
    pino({ level: 'silent' }),
  );
  try {
    const client = resources.commands;
    const before = { error: client.listenerCount('error'), ready: client.listenerCount('ready') };
    for (let i = 0; i < 20; i++) expect(await resources.check()).toBe('ok');
    expect(resources.commands).toBe(client);
    expect({ error: client.listenerCount('error'), ready: client.listenerCount('ready') }).toEqual(
      before,
    );
  } finally {
    await resources.close();
  }
});
