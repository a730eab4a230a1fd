import net from 'node:net';
import { Redis } from 'ioredis';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { UnavailableError } from '../../src/protocol/errors';
import { createRedis } from '../../src/redis/connection';
import { RedisKeys } from '../../src/redis/keys';
import { FencedError } from '../../src/document/fence';
import { type OpSubmission } from '../../src/document/op-submission';
import { DEDUPE_CLIENTS_MAX } from '../../src/services/collaboration/dedupe-bounds';
import {
  createRedisCollaborationService,
  RedisCollaborationService,
} from '../../src/services/collaboration/collaboration.redis';
import {
  randomDocId,
  redisTestConfig,
  startRedis,
  type StartedRedis,
} from '../support/redis-harness';

/** Internals of the Redis backend that the behaviour suite cannot see: keys, fencing, presence liveness. */

const quiet = pino({ level: 'silent' });
let server: StartedRedis;
let admin: Redis;
const services: RedisCollaborationService[] = [];

beforeAll(async () => {
  server = await startRedis();
  admin = new Redis({ host: server.host, port: server.port });
});
afterAll(async () => {
  admin?.disconnect();
  await server?.stop();
});
afterEach(async () => {
  await Promise.all(services.splice(0).map((s) => s.close()));
});

function service(vars: Record<string, string> = {}, presenceTimeoutMs?: number) {
  const config = redisTestConfig(server, vars);
  const created = createRedisCollaborationService(
    config,
    quiet,
    presenceTimeoutMs ? { presenceTimeoutMs } : {},
  );
  services.push(created);
  return { service: created, keys: new RedisKeys(config.redis.keyPrefix), config };
}

const op = (doc: string, client: string, cseq: number, id = 'n1'): OpSubmission => ({
  doc,
  client,
  cseq,
  ops: [{ op: 'set', coll: 'nodes', id, value: { cseq } }],
});

describe('key layout', () => {
  it('keeps every key of a document under its hash tag, typed and expiring as documented', async () => {
    const { service: s, keys } = service({ REDIS_SESSION_TTL: '600' });
    const doc = randomDocId();
    const k = keys.doc(doc);
    await s.applyBatch(doc, [op(doc, 'a', 1)]);
    await s.setPresence(doc, { client: 'a', user: 'u', state: { x: 1 }, node: 'gw' });

    for (const key of [k.session, k.state, k.history, k.dedupe, k.presence, k.channel]) {
      expect(key.startsWith(keys.prefix)).toBe(true);
      expect(/\{([^}]*)\}/.exec(key)?.[1]).toBe(doc);
    }
    expect(k.session).toBe(`${keys.prefix}sessions:{${doc}}`);
    expect(k.channel).toBe(`${keys.prefix}doc:{${doc}}`);

    const session = await admin.hgetall(k.session);
    expect(session).toMatchObject({ doc, seq: '1', epoch: expect.any(String) });
    expect(Number(session.updatedAt)).toBeGreaterThanOrEqual(Number(session.createdAt));
    expect(Math.abs(Number(session.createdAt) - Date.now())).toBeLessThan(10_000);
    expect(await admin.hgetall(k.state)).toEqual({ 'nodes/n1': '{"cseq":1}' });
    expect(await admin.xrange(k.history, '-', '+')).toEqual([
      ['0-1', ['client', 'a', 'cseq', '1', 'ops', JSON.stringify(op(doc, 'a', 1).ops)]],
    ]);
    expect(await admin.hgetall(k.dedupe)).toEqual({ a: '1 1' });
    expect(JSON.parse((await admin.hget(k.presence, 'a')) ?? '')).toEqual({
      client: 'a',
      user: 'u',
      state: { x: 1 },
      node: 'gw',
    });
    for (const [key, type] of [
      [k.session, 'hash'],
      [k.state, 'hash'],
      [k.history, 'stream'],
      [k.dedupe, 'hash'],
      [k.presence, 'hash'],
    ] as const) {
      expect(await admin.type(key)).toBe(type);
      const ttl = await admin.ttl(key);
      expect(ttl).toBeGreaterThan(590);
      expect(ttl).toBeLessThanOrEqual(600);
    }
  });

  it('never expires a document with REDIS_SESSION_TTL=0', async () => {
    const { service: s, keys } = service({ REDIS_SESSION_TTL: '0' });
    const doc = randomDocId();
    await s.applyBatch(doc, [op(doc, 'a', 1)]);
    const k = keys.doc(doc);
    for (const key of [k.session, k.state, k.history, k.dedupe])
      expect(await admin.ttl(key)).toBe(-1);
  });

  it('loads its scripts again after SCRIPT FLUSH (NOSCRIPT fallback)', async () => {
    const { service: s } = service();
    const doc = randomDocId();
    await s.applyBatch(doc, [op(doc, 'a', 1)]);
    await admin.script('FLUSH');
    expect((await s.applyBatch(doc, [op(doc, 'a', 2)]))[0]).toMatchObject({
      kind: 'applied',
      seq: 2,
    });
    expect((await s.snapshot(doc))?.seq).toBe(2);
  });
});

describe('dedupe record', () => {
  it('keeps at most DEDUPE_CLIENTS_MAX clients, forgetting the ones whose last op is the oldest', async () => {
    const { service: svc, keys } = service();
    const doc = randomDocId();
    const clients = DEDUPE_CLIENTS_MAX + 50;
    for (let first = 0; first < clients; first += 100) {
      const batch: OpSubmission[] = [];
      for (let c = first; c < Math.min(clients, first + 100); c++) batch.push(op(doc, `c${c}`, 1));
      await svc.applyBatch(doc, batch);
    }
    const dedupe = keys.doc(doc).dedupe;
    expect(await admin.hlen(dedupe)).toBeLessThanOrEqual(DEDUPE_CLIENTS_MAX);
    expect(await admin.hexists(dedupe, `c${clients - 1}`)).toBe(1);
    expect(await admin.hexists(dedupe, 'c0')).toBe(0);
  });

  it("reads a record of the older one-pair layout as the client's last applied op", async () => {
    const { service: svc, keys } = service();
    const doc = randomDocId();
    await svc.applyBatch(doc, [op(doc, 'a', 1), op(doc, 'a', 2)]);
    await admin.hset(keys.doc(doc).dedupe, 'a', '2 2');
    const [again, next] = await svc.applyBatch(doc, [op(doc, 'a', 2), op(doc, 'a', 3)]);
    expect(again).toMatchObject({ kind: 'duplicate', seq: 2 });
    expect(next).toMatchObject({ kind: 'applied', seq: 3 });
    expect(await admin.hget(keys.doc(doc).dedupe, 'a')).toBe('2 2 3 3');
  });
});

describe('fencing', () => {
  it('refuses a batch with an older token than the fence key holds, and applies nothing', async () => {
    const { service: s, keys } = service();
    const doc = randomDocId();
    const fenceKey = keys.doc(doc).fence;
    await admin.set(fenceKey, '3');
    await expect(
      s.applyBatch(doc, [op(doc, 'a', 1)], { owner: 'w-old', token: 2 }),
    ).rejects.toBeInstanceOf(FencedError);
    expect(await s.snapshot(doc)).toBeNull();

    expect((await s.applyBatch(doc, [op(doc, 'a', 1)], { owner: 'w', token: 3 }))[0]).toMatchObject(
      { seq: 1 },
    );
    // A newer token is recorded, so that the holder of token 3 is now fenced out.
    expect(
      (await s.applyBatch(doc, [op(doc, 'a', 2)], { owner: 'w-new', token: 5 }))[0],
    ).toMatchObject({ seq: 2 });
    expect(await admin.get(fenceKey)).toBe('5');
    await expect(
      s.applyBatch(doc, [op(doc, 'a', 3)], { owner: 'w', token: 3 }),
    ).rejects.toBeInstanceOf(FencedError);
    // The ordering worker's next claim INCRs past it.
    expect(await admin.incr(fenceKey)).toBe(6);
    // Without a fence (single-process ordering) nothing is checked.
    expect((await s.applyBatch(doc, [op(doc, 'a', 3)]))[0]).toMatchObject({ seq: 3 });
  });
});

describe('presence liveness', () => {
  it('drops the presence of a node that stopped its heartbeat, keeps a live one', async () => {
    const timeout = 300;
    const { service: reader, keys } = service({}, timeout);
    const doc = randomDocId();
    const config = redisTestConfig(server);
    // Two gateways share the prefix of `reader`.
    const sharedKeys = { REDIS_KEY_PREFIX: keys.prefix };
    const crashingConnection = createRedis(redisTestConfig(server, sharedKeys), quiet, 'crash');
    const crashing = new RedisCollaborationService({
      redis: crashingConnection,
      log: quiet,
      keys: new RedisKeys(sharedKeys.REDIS_KEY_PREFIX),
      historyLength: config.history.length,
      sessionTtlSeconds: 0,
      presenceTimeoutMs: timeout,
    });
    const { service: alive } = service(sharedKeys, timeout);
    await crashing.setPresence(doc, { client: 'gone', user: null, state: {}, node: 'gw-crashed' });
    await alive.setPresence(doc, { client: 'here', user: null, state: {}, node: 'gw-alive' });
    expect((await reader.listPresence(doc)).map((p) => p.client).sort()).toEqual(['gone', 'here']);

    crashingConnection.disconnect(); // the process dies: no more heartbeats, no cleanup
    await new Promise((r) => setTimeout(r, timeout * 2));
    expect((await reader.listPresence(doc)).map((p) => p.client)).toEqual(['here']);
    // The dead record was pruned from Redis, not only hidden.
    await new Promise((r) => setTimeout(r, 50));
    expect(
      Object.keys(await admin.hgetall(`${sharedKeys.REDIS_KEY_PREFIX}presence:{${doc}}`)),
    ).toEqual(['here']);
    await crashing.close();

    // A node that closes cleanly takes its clients' presence with it at once.
    await alive.close();
    expect(await reader.listPresence(doc)).toEqual([]);
  });
});

describe('Redis unreachable', () => {
  it('answers every operation with UnavailableError instead of hanging', async () => {
    const probe = net.createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const { port } = probe.address() as net.AddressInfo;
    await new Promise((resolve) => probe.close(resolve));
    const { service: s } = service({
      REDIS_HOST: '127.0.0.1',
      REDIS_PORT: String(port),
      REDIS_MAX_RETRIES: '1',
    });
    const doc = randomDocId();
    const started = Date.now();
    const results = await Promise.allSettled([
      s.open(doc),
      s.applyBatch(doc, [op(doc, 'a', 1)]),
      s.snapshot(doc),
      s.eventsAfter(doc, 'e', 0),
      s.listPresence(doc),
    ]);
    for (const result of results) {
      expect(result.status).toBe('rejected');
      if (result.status === 'rejected') expect(result.reason).toBeInstanceOf(UnavailableError);
    }
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});
