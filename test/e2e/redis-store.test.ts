import Redis from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RedisKeys } from '../../src/redis/keys';
import { startFlowChild, type FlowChild } from '../support/flow-processes';
import { startPostgres, type StartedPostgres } from '../support/postgres-harness';
import { randomKeyPrefix } from '../support/redis-harness';
import { flagEnv } from '../support/redis-env';
import { RestartableRedis } from '../support/restartable-redis';
import { randomDoc } from '../support/test-server';
import { TestClient } from '../support/ws-client';
import { edit, readDoc, savedAt, setNode, type Joined } from '../support/document-edits';

/**
 * Documents in Redis (every USE_REDIS_* flag on) kept in PostgreSQL, with
 * gateways and a BullMQ worker as separate processes: what survives losing
 * every process and Redis itself, and who stores what.
 */

const START_MS = 60_000;
const TEST_MS = 180_000;

describe('documents in Redis kept in PostgreSQL (gateways and a BullMQ worker as processes)', () => {
  let postgres: StartedPostgres;
  let redis: RestartableRedis;
  let env: Record<string, string>;
  const children: FlowChild[] = [];
  const clients: TestClient[] = [];

  const start = async (role: 'gateway' | 'worker', vars: Record<string, string> = {}) => {
    const child = await startFlowChild(role, { ...env, ...vars }, START_MS);
    children.push(child);
    return child;
  };
  const connect = async (gateway: FlowChild, id?: string) => {
    const client = await TestClient.connect(gateway.url, id);
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    [postgres, redis] = await Promise.all([startPostgres(), RestartableRedis.start()]);
    env = {
      REDIS_HOST: '127.0.0.1',
      REDIS_PORT: String(redis.port),
      REDIS_KEY_PREFIX: randomKeyPrefix(),
      ...flagEnv({ websockets: true, collaboration: true, eventOrdering: true }),
      DOCUMENT_STORE: postgres.url,
      DOCUMENT_STORE_MIGRATE: 'true',
      STORE_DEBOUNCE_MS: '100',
      ORDERING_LEASE_MS: '1500',
    };
  }, START_MS);
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await Promise.all(children.splice(0).map((c) => c.kill('SIGKILL')));
  });
  afterAll(async () => {
    await redis?.stop();
    await postgres?.stop();
  });

  it(
    'kill -9 of every process and of Redis, its data removed: the document is back at the same epoch, seq and state',
    async () => {
      const doc = randomDoc('lost-redis');
      const [gatewayA, gatewayB] = await Promise.all([
        start('gateway', { NODE_ID: 'gw-a' }),
        start('gateway', { NODE_ID: 'gw-b' }),
        start('worker', { NODE_ID: 'wk-1' }),
      ]);
      const writer = await connect(gatewayA!);
      const watcher = await connect(gatewayB!);
      const joined = (await writer.request({ type: 'join', doc })) as Joined;
      expect(joined).toMatchObject({ type: 'joined', seq: 0, savedSeq: 0 });
      expect(await watcher.request({ type: 'join', doc })).toMatchObject({ savedSeq: 0 });

      const seq = await edit(writer, doc, 1, 5);
      // The worker stored it; the members of both gateways hear of it.
      await Promise.all([writer.next(savedAt(seq), 15_000), watcher.next(savedAt(seq), 15_000)]);
      const before = await readDoc(gatewayB!.http, doc);
      expect(before.body).toMatchObject({ epoch: joined.epoch, seq });

      await Promise.all(clients.splice(0).map((c) => c.close()));
      await Promise.all(children.splice(0).map((c) => c.kill('SIGKILL')));
      await redis.crashAndWipe();
      await redis.resume();

      const [gateway] = await Promise.all([
        start('gateway', { NODE_ID: 'gw-c' }),
        start('worker', { NODE_ID: 'wk-2' }),
      ]);
      // Read over HTTP before any join: loaded from the store.
      expect(await readDoc(gateway!.http, doc)).toEqual(before);
      const reader = await connect(gateway!);
      const rejoined = (await reader.request({ type: 'join', doc })) as Joined;
      expect(rejoined).toMatchObject({
        epoch: joined.epoch,
        seq,
        savedSeq: seq,
        state: before.body.state,
      });
      expect(await edit(reader, doc, 1, 1)).toBe(seq + 1);
      await reader.next(savedAt(seq + 1), 15_000);
    },
    TEST_MS,
  );

  it(
    'an op for a document Redis lost while its client stayed joined: the worker loads it before applying',
    async () => {
      const doc = randomDoc('lost-keys');
      const [gateway] = await Promise.all([
        start('gateway', { NODE_ID: 'gw-d' }),
        start('worker', { NODE_ID: 'wk-3' }),
      ]);
      const writer = await connect(gateway!);
      const joined = (await writer.request({ type: 'join', doc })) as Joined;
      const seq = await edit(writer, doc, 1, 3);
      await writer.next(savedAt(seq), 15_000);

      const keys = new RedisKeys(env.REDIS_KEY_PREFIX).doc(doc);
      const direct = new Redis({ host: '127.0.0.1', port: redis.port, lazyConnect: false });
      try {
        await direct.del(keys.session, keys.state, keys.history, keys.dedupe);
      } finally {
        direct.disconnect();
      }

      const ack = await writer.request({
        type: 'op',
        doc,
        cseq: 4,
        ops: [setNode('n4', { cseq: 4 })],
      });
      // Seq and epoch go on from the stored snapshot, not from an empty document.
      expect(ack).toMatchObject({ type: 'ack', cseq: 4, seq: seq + 1 });
      const after = await readDoc(gateway!.http, doc);
      expect(after.body).toMatchObject({ epoch: joined.epoch, seq: seq + 1 });
      expect(Object.keys((after.body.state as { nodes: object }).nodes).sort()).toEqual([
        'n1',
        'n2',
        'n3',
        'n4',
      ]);
    },
    TEST_MS,
  );

  it(
    'edits applied by a worker killed before it stored them: another process finds and stores them',
    async () => {
      const doc = randomDoc('orphan');
      // Neither of these stores anything within the test: their debounce is long.
      const slow = { STORE_DEBOUNCE_MS: '600000', STORE_MAX_DELAY_MS: '600000' };
      const [gateway, worker] = await Promise.all([
        start('gateway', { NODE_ID: 'gw-e', ...slow }),
        start('worker', { NODE_ID: 'wk-4', ...slow }),
      ]);
      const writer = await connect(gateway!);
      await writer.request({ type: 'join', doc });
      const seq = await edit(writer, doc, 1, 3);
      await worker!.kill('SIGKILL');

      // A worker that sweeps every 1.2 s (3 x STORE_MAX_DELAY_MS) takes over.
      const rescuer = await start('worker', { NODE_ID: 'wk-5', STORE_MAX_DELAY_MS: '400' });
      expect(await writer.next(savedAt(seq), 20_000)).toEqual({ type: 'saved', doc, seq });
      await expect
        .poll(() => rescuer.lines.some((l) => l.includes('no process was storing')), {
          timeout: 5000,
        })
        .toBe(true);
    },
    TEST_MS,
  );
});
