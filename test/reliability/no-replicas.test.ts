import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unavailableFrom } from '../../src/redis/errors';
import { randomKeyPrefix, startRedis, type StartedRedis } from '../support/redis-harness';
import { flagEnv } from '../support/redis-env';
import { randomDoc, startTestServer } from '../support/test-server';
import { TestClient } from '../support/ws-client';

/**
 * `min-replicas-to-write` (the setting that narrows what an asynchronous
 * failover can lose) makes a master refuse writes with NOREPLICAS while too
 * few replicas are in sync: after a failover with one replica per master,
 * the promoted master has none. Found by the failover benchmark: joins were
 * answered INTERNAL ("a bug") instead of UNAVAILABLE ("nothing was applied,
 * retry later").
 */
describe('Redis refusing writes with NOREPLICAS', () => {
  it('is a backend outage, not a bug', () => {
    for (const message of [
      'NOREPLICAS Not enough good replicas to write.',
      'NOREPLICAS Not enough good replicas to write. script: 67ed14c1, on @user_script:1.',
    ]) {
      expect(unavailableFrom(new Error(message))?.code).toBe('UNAVAILABLE');
      expect(unavailableFrom(new Error(message))?.message).toMatch(/replicas/);
    }
  });

  describe('end to end (a single Redis with min-replicas-to-write 1 and no replica)', () => {
    let redis: StartedRedis;
    let server: Awaited<ReturnType<typeof startTestServer>>;
    beforeAll(async () => {
      redis = await startRedis(['--min-replicas-to-write', '1']);
      server = await startTestServer({
        REDIS_HOST: redis.host,
        REDIS_PORT: String(redis.port),
        REDIS_KEY_PREFIX: randomKeyPrefix(),
        REDIS_RETRY_DELAY: '50',
        ...flagEnv({ websockets: true, collaboration: true, eventOrdering: false }),
      });
    });
    afterAll(async () => {
      await server?.close();
      await redis?.stop();
    });

    it('answers a join UNAVAILABLE, and the message names the cause', async () => {
      const client = await TestClient.connect(server.url);
      try {
        const reply = await client.request({ type: 'join', doc: randomDoc('noreplicas') });
        expect(reply).toMatchObject({ type: 'error', code: 'UNAVAILABLE' });
        expect((reply as { message: string }).message).toMatch(/replicas/);
      } finally {
        await client.close();
      }
    });
  });
});
