import { randomBytes } from 'node:crypto';
import { Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keySlot } from '../../src/redis/key-slot';
import { ReplicaCount } from '../../src/redis/replica-count';
import { useRedisServers } from '../support/redis-harness';
import { flagEnv, redisEnv } from '../support/redis-env';
import { randomDoc, startTestServer } from '../support/test-server';
import { TestClient } from '../support/ws-client';

/** REDIS_WAIT_REPLICAS=auto on setups without replicas (the test servers have none). */
const redis = useRedisServers();

describe('keySlot', () => {
  let cluster: Cluster;
  beforeAll(async () => {
    cluster = new Cluster(redis.addresses.cluster.map((n) => ({ host: n.host, port: n.port })));
    await cluster.ping();
  });
  afterAll(() => cluster?.disconnect());

  it('is the slot Redis Cluster computes, hash tags included', async () => {
    const keys = [
      '',
      'foo',
      'flow:sessions:{doc-1}',
      '{}x',
      '{a}{b}',
      'a{b}c',
      'x{',
      'é{ü}',
      ...Array.from(
        { length: 40 },
        () => `k:${randomBytes(1 + ((randomBytes(1)[0] ?? 0) % 24)).toString('latin1')}`,
      ),
    ];
    for (const key of keys)
      expect(keySlot(key), JSON.stringify(key)).toBe(Number(await cluster.cluster('KEYSLOT', key)));
  });
});

describe('ReplicaCount without replicas', () => {
  it('is 0 on a single Redis and on a cluster whose masters have no replica', async () => {
    const single = new Redis({
      host: redis.addresses.single.host,
      port: redis.addresses.single.port,
    });
    const cluster = new Cluster(
      redis.addresses.cluster.map((n) => ({ host: n.host, port: n.port })),
    );
    try {
      await cluster.ping();
      for (const client of [single, cluster]) {
        const count = new ReplicaCount(client);
        for (const key of ['flow:sessions:{a}', 'flow:sessions:{b}', 'flow:sessions:{c}'])
          expect(await count.of(key)).toBe(0);
      }
    } finally {
      single.disconnect();
      cluster.disconnect();
    }
  });

  for (const target of ['single', 'cluster'] as const) {
    it(`${target}: auto acknowledges at once instead of waiting REDIS_WAIT_TIMEOUT_MS for a replica`, async () => {
      // With a replica wanted, every ack would wait the 30 s timeout: far past the
      // 5 s the test client waits for an answer.
      const server = await startTestServer({
        ...redisEnv(redis.addresses, target),
        ...flagEnv({ websockets: true, collaboration: true, eventOrdering: false }),
        REDIS_WAIT_REPLICAS: 'auto',
        REDIS_WAIT_TIMEOUT_MS: '30000',
      });
      const client = await TestClient.connect(server.url);
      try {
        const doc = randomDoc('auto');
        await client.request({ type: 'join', doc });
        for (let cseq = 1; cseq <= 5; cseq++) {
          const ack = await client.request({
            type: 'op',
            doc,
            cseq,
            ops: [{ op: 'set', coll: 'c', id: 'x', value: { cseq } }],
          });
          expect(ack).toMatchObject({ type: 'ack', seq: cseq });
        }
      } finally {
        await client.close();
        await server.close();
      }
    });
  }
});
