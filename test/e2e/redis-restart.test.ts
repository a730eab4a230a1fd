import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { flagEnv } from '../support/redis-env';
import { RestartableRedis } from '../support/restartable-redis';
import { randomKeyPrefix } from '../support/redis-harness';
import { randomDoc, startTestServer } from '../support/test-server';
import { TestClient } from '../support/ws-client';
import { waitFor } from '../support/scenarios';

type Server = Awaited<ReturnType<typeof startTestServer>>;

/**
 * Redis goes away and comes back with its AOF: the seq continues in the same
 * epoch, ops sent meanwhile are refused with UNAVAILABLE (nothing applied),
 * /health reports Redis, and nothing crashes.
 */
describe('Redis restart with AOF (all three flags, single Redis)', () => {
  let redis: RestartableRedis;
  let server: Server;

  beforeAll(async () => {
    redis = await RestartableRedis.start();
    server = await startTestServer({
      REDIS_HOST: '127.0.0.1',
      REDIS_PORT: String(redis.port),
      REDIS_KEY_PREFIX: randomKeyPrefix(),
      REDIS_RETRY_DELAY: '50',
      REDIS_MAX_RETRIES: '1',
      ...flagEnv({ websockets: true, collaboration: true, eventOrdering: true }),
    });
  });
  afterAll(async () => {
    await server?.close();
    await redis?.stop();
  });

  it('continues the seq in the same epoch; refuses ops while Redis is down', async () => {
    const doc = randomDoc('restart');
    const writer = await TestClient.connect(server.url, 'restart-writer');
    const reader = await TestClient.connect(server.url, 'restart-reader');
    const joined = (await writer.request({ type: 'join', doc })) as { epoch: string };
    await reader.request({ type: 'join', doc });
    for (let k = 1; k <= 3; k++) {
      expect(
        await writer.request({
          type: 'op',
          doc,
          cseq: k,
          ops: [{ op: 'set', coll: 'c', id: 'x', value: { k } }],
        }),
      ).toMatchObject({
        type: 'ack',
        seq: k,
      });
    }

    await redis.pause();
    const refused = await writer.request({
      type: 'op',
      doc,
      cseq: 4,
      ops: [{ op: 'set', coll: 'c', id: 'x', value: { k: 4 } }],
    });
    expect(refused).toMatchObject({ type: 'error', code: 'UNAVAILABLE', cseq: 4 });
    const health = await fetch(`${server.http}/health`);
    expect(health.status).toBe(503);
    expect(((await health.json()) as { checks: { redis: string } }).checks.redis).not.toBe('ok');

    await redis.resume();
    await waitFor(
      async () => (await fetch(`${server.http}/health`)).status === 200,
      15_000,
      'health back to ok',
    );
    // The refused op was not applied: sending it again applies it as seq 4.
    const again = await writer.request(
      { type: 'op', doc, cseq: 4, ops: [{ op: 'set', coll: 'c', id: 'x', value: { k: 4 } }] },
      'r4',
    );
    expect(again).toMatchObject({ type: 'ack', cseq: 4, seq: 4 });
    expect(again).not.toHaveProperty('dup');
    // The reader, still connected, got every event without a gap.
    await waitFor(() => reader.of('event').length === 4, 10_000, 'reader caught up');
    expect(reader.of('event').map((e) => e.seq)).toEqual([1, 2, 3, 4]);
    // A client resuming with its old epoch gets exactly the missed events.
    const late = await TestClient.connect(server.url);
    const resumed = await late.request({ type: 'join', doc, since: 2, epoch: joined.epoch });
    expect(resumed).toMatchObject({ epoch: joined.epoch, seq: 4 });
    expect((resumed as { events: Array<{ seq: number }> }).events.map((e) => e.seq)).toEqual([
      3, 4,
    ]);
    await Promise.all([writer.close(), reader.close(), late.close()]);
  }, 60_000);
});
