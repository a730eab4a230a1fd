import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { FlowClient, type FlowError } from '../../src/client';
import { useRedisServers } from '../support/redis-harness';
import { flagEnv, redisEnv } from '../support/redis-env';
import { randomDoc, startTestServer } from '../support/test-server';
import { TestClient, delay } from '../support/ws-client';
import { SECRET, hs256, upgradeStatus } from './auth-support';

/**
 * PROTOCOL.md section 1: a client id names one connection at a time,
 * cluster-wide (the older one closes with 4409), and with auth on it
 * belongs to the user that first used it (another user's upgrade: 409).
 */
type Server = Awaited<ReturnType<typeof startTestServer>>;

const redis = useRedisServers();
const clients: TestClient[] = [];
const servers: Server[] = [];

async function start(vars: Record<string, string>): Promise<Server> {
  const server = await startTestServer(vars);
  servers.push(server);
  return server;
}

function urlOf(server: Server, client: string, token?: string): string {
  return `${server.url}?client=${client}${token ? `&token=${encodeURIComponent(token)}` : ''}`;
}

async function connect(server: Server, client: string, token?: string): Promise<TestClient> {
  const test = await TestClient.connect(urlOf(server, client, token));
  clients.push(test);
  return test;
}

/** The close code and reason of a raw socket. */
function closeOf(test: TestClient): Promise<{ code: number; reason: string }> {
  return new Promise((resolve) => {
    if (test.ws.readyState === WebSocket.CLOSED)
      throw new Error('already closed: listen before the takeover');
    test.ws.once('close', (code, reason) => resolve({ code, reason: String(reason) }));
  });
}

const tokenOf = (sub: string) => hs256({ sub, docs: { '*': 'write' } });
const clientId = () => `laptop-${Math.random().toString(36).slice(2, 10)}`;
const setOp = (v: number) => [{ op: 'set', coll: 'nodes', id: 'n', value: { v } }];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
});
afterAll(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

describe.each([
  ['in memory', () => ({})],
  [
    'in Redis mode',
    () => ({
      ...redisEnv(redis.addresses, 'single'),
      ...flagEnv({ websockets: true, collaboration: true, eventOrdering: true }),
    }),
  ],
] as const)('client ids %s', (_name, env) => {
  let a: Server;
  let b: Server;

  beforeAll(async () => {
    const vars = { AUTH_JWT_SECRET: SECRET, ...env() };
    a = await start({ ...vars, NODE_ID: `gateway-a-${randomDoc()}` });
    // In memory one process serves everything; in Redis mode a second gateway shares the ids.
    b =
      Object.keys(vars).length > 1
        ? await start({ ...vars, NODE_ID: `gateway-b-${randomDoc()}` })
        : a;
  });

  it("refuses another user's upgrade with a held client id (409) and leaves the owner alone", async () => {
    const id = clientId();
    const alice = await connect(a, id, await tokenOf('alice'));
    expect(await upgradeStatus(urlOf(b, id, await tokenOf('mallory')))).toBe(409);
    expect(await upgradeStatus(urlOf(a, id, await tokenOf('mallory')))).toBe(409);
    expect((await alice.request({ type: 'ping' })).type).toBe('pong');
  });

  it('keeps the id its owner’s after the owner disconnected', async () => {
    const id = clientId();
    const alice = await connect(a, id, await tokenOf('alice'));
    await alice.close();
    expect(await upgradeStatus(urlOf(b, id, await tokenOf('mallory')))).toBe(409);
    expect(await upgradeStatus(urlOf(b, id, await tokenOf('alice')))).toBe(101);
  });

  it('closes the older connection with 4409 when the same user connects again, anywhere', async () => {
    const id = clientId();
    const doc = randomDoc();
    const token = await tokenOf('alice');
    const older = await connect(a, id, token);
    await older.request({ type: 'join', doc });
    const closed = closeOf(older);
    const newer = await connect(b, id, token);
    expect(await closed).toEqual({ code: 4409, reason: 'client id in use by a newer connection' });
    await newer.request({ type: 'join', doc });
    const ack = await newer.request({ type: 'op', doc, cseq: 1, ops: setOp(1) });
    expect(ack).toMatchObject({ type: 'ack', doc, cseq: 1, seq: 1 });
  });

  it("another user's malicious high cseq never reaches the owner's records", async () => {
    const id = clientId();
    const doc = randomDoc();
    const alice = await connect(a, id, await tokenOf('alice'));
    await alice.request({ type: 'join', doc });
    expect(await upgradeStatus(urlOf(b, id, await tokenOf('mallory')))).toBe(409);
    const ack = await alice.request({ type: 'op', doc, cseq: 5, ops: setOp(5) });
    expect(ack).toMatchObject({ type: 'ack', cseq: 5, seq: 1 });
    expect(ack).not.toHaveProperty('dup');
  });
});

describe('client ids without authentication', () => {
  it('still name one connection at a time (4409 for the older one)', async () => {
    const server = await start({});
    const id = clientId();
    const older = await connect(server, id);
    const closed = closeOf(older);
    const newer = await connect(server, id);
    expect((await closed).code).toBe(4409);
    expect((await newer.request({ type: 'ping' })).type).toBe('pong');
  });
});

describe('the SDK', () => {
  it('reports CLIENT_ID_IN_USE when a newer connection takes its id, and does not reconnect', async () => {
    const server = await start({});
    const id = clientId();
    const older = new FlowClient({
      url: server.url,
      client: id,
      reconnect: { minDelayMs: 10, maxDelayMs: 20 },
    });
    const errors: FlowError[] = [];
    older.on('error', (e) => errors.push(e));
    const states: string[] = [];
    older.on('state', (change) => states.push(change.state));
    await older.join(randomDoc());
    const newer = await connect(server, id);
    await until(() => older.state === 'closed');
    await delay(200);
    expect(errors.map((e) => e.code)).toEqual(['CLIENT_ID_IN_USE']);
    expect(states.slice(-1)).toEqual(['closed']);
    expect(states).not.toContain('reconnecting');
    expect((await newer.request({ type: 'ping' })).type).toBe('pong');
    older.close();
  });

  it("reports CLIENT_ID_IN_USE when the id is another user's (409), and does not retry", async () => {
    const server = await start({ AUTH_JWT_SECRET: SECRET });
    const id = clientId();
    await connect(server, id, await tokenOf('alice'));
    let calls = 0;
    const mallory = new FlowClient({
      url: server.url,
      client: id,
      token: () => {
        calls++;
        return tokenOf('mallory');
      },
      reconnect: { minDelayMs: 10, maxDelayMs: 20 },
    });
    const errors: FlowError[] = [];
    mallory.on('error', (e) => errors.push(e));
    mallory.connect();
    await until(() => mallory.state === 'closed');
    await delay(200);
    expect(calls).toBe(1);
    expect(errors.map((e) => e.code)).toEqual(['CLIENT_ID_IN_USE']);
    mallory.close();
  });
});

async function until(check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await delay(20);
  }
}
