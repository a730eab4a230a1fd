import { describe, expect, it } from 'vitest';
import { useRedisServers } from '../support/redis-harness';
import { ALL_FLAG_SETS, flagEnv, flagName, redisEnv, type RedisTarget } from '../support/redis-env';
import { runCoreScenario } from '../support/scenarios';
import { startTestServer } from '../support/test-server';
import { TestClient } from '../support/ws-client';
import { expectOnlyDocumentKeys } from '../support/redis-keys';

/**
 * The Redis integration suite (`npm test -- redis-integration.test.ts`):
 * every combination of the three flags, on a single Redis and on a 3-master
 * cluster, passes the same behaviour scenario; with Redis collaboration and
 * WebSockets, several gateways share documents.
 */
const servers = useRedisServers();
const targets: RedisTarget[] = ['single', 'cluster'];

describe.each(targets)('Redis integration (%s)', (target) => {
  it.each(ALL_FLAG_SETS.map((flags) => ({ flags, name: flagName(flags) })))(
    '$name: one process passes the core scenario',
    async ({ flags }) => {
      const env = redisEnv(servers.addresses, target);
      const server = await startTestServer({ ...env, ...flagEnv(flags) });
      try {
        const stats = (await (await fetch(`${server.http}/ws/stats`)).json()) as {
          services: Record<string, string>;
        };
        expect(stats.services).toEqual({
          websockets: flags.websockets ? 'redis' : 'memory',
          collaboration: flags.collaboration ? 'redis' : 'memory',
          eventOrdering: flags.eventOrdering ? 'redis' : 'memory',
        });
        await runCoreScenario([server]);
        await expectOnlyDocumentKeys(servers.addresses, target, env.REDIS_KEY_PREFIX as string);
      } finally {
        await server.close();
      }
    },
  );

  it.each([
    { name: 'in-process ordering', eventOrdering: false },
    { name: 'BullMQ ordering', eventOrdering: true },
  ])('two gateways share documents ($name)', async ({ eventOrdering }) => {
    const env = {
      ...redisEnv(servers.addresses, target),
      ...flagEnv({ websockets: true, collaboration: true, eventOrdering }),
    };
    const a = await startTestServer({ ...env, NODE_ID: 'gateway-a' });
    const b = await startTestServer({ ...env, NODE_ID: 'gateway-b' });
    try {
      await runCoreScenario([a, b]);
      const stats = (await (await fetch(`${a.http}/ws/stats`)).json()) as {
        cluster: { nodes: Array<{ node: string }> };
      };
      expect(stats.cluster.nodes.map((n) => n.node)).toEqual(
        expect.arrayContaining(['gateway-a', 'gateway-b']),
      );
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('refuses a second process when a service is in memory', async () => {
    const env = {
      ...redisEnv(servers.addresses, target),
      ...flagEnv({ websockets: false, collaboration: true, eventOrdering: false }),
    };
    const first = await startTestServer(env);
    try {
      await expect(startTestServer(env)).rejects.toThrow(/serves one process only/);
    } finally {
      await first.close();
    }
  });

  it('health names Redis as ok', async () => {
    const server = await startTestServer({
      ...redisEnv(servers.addresses, target),
      ...flagEnv({ websockets: true, collaboration: true, eventOrdering: true }),
    });
    try {
      const res = await fetch(`${server.http}/health`);
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ status: 'ok', checks: { redis: 'ok' } });
      const client = await TestClient.connect(server.url);
      await client.close();
    } finally {
      await server.close();
    }
  });
});

describe('REDIS_WAIT_REPLICAS', () => {
  it('waits for replicas before acking, and acks anyway after the timeout when there are none', async () => {
    const server = await startTestServer({
      ...redisEnv(servers.addresses, 'single'),
      ...flagEnv({ websockets: true, collaboration: true, eventOrdering: false }),
      REDIS_WAIT_REPLICAS: '1',
      REDIS_WAIT_TIMEOUT_MS: '300',
    });
    try {
      const client = await TestClient.connect(server.url);
      const doc = `wait-${Math.random().toString(36).slice(2, 8)}`;
      await client.request({ type: 'join', doc });
      const started = Date.now();
      const ack = await client.request({
        type: 'op',
        doc,
        cseq: 1,
        ops: [{ op: 'del', coll: 'c', id: 'x' }],
      });
      // The single test Redis has no replica: WAIT returns 0 after its timeout.
      expect(ack).toMatchObject({ type: 'ack', seq: 1 });
      expect(Date.now() - started).toBeGreaterThanOrEqual(290);
      await client.close();
    } finally {
      await server.close();
    }
  });
});
