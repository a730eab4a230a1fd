import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { FlowClient, type FlowError } from '../../src/client';
import { randomDoc, startTestServer } from '../support/test-server';
import { TestClient, delay } from '../support/ws-client';
import { SECRET, hs256 } from './auth-support';

/**
 * PROTOCOL.md section 7: a token stops at its `exp` on an open connection
 * too (close 4401, "token expired"); the SDK reconnects with a fresh token
 * from its token source and carries on, and does not loop on a source that
 * keeps returning an expired token.
 */
type Server = Awaited<ReturnType<typeof startTestServer>>;

let server: Server;
const clients: FlowClient[] = [];

beforeAll(async () => {
  server = await startTestServer({ AUTH_JWT_SECRET: SECRET });
});
afterEach(() => {
  for (const client of clients.splice(0)) client.close();
});
afterAll(async () => {
  await server.close();
});

const grant = { '*': 'write' };
const setOp = (v: number) => [{ op: 'set' as const, coll: 'nodes', id: 'n', value: { v } }];

function closedWith(ws: WebSocket): Promise<{ code: number; reason: string }> {
  return new Promise((resolve) =>
    ws.once('close', (code, reason) => resolve({ code, reason: String(reason) })),
  );
}

describe('the server', () => {
  it('closes a connection with 4401 "token expired" when its token reaches exp', async () => {
    const token = await hs256({ sub: 'alice', docs: grant, expiresInS: 2 });
    const test = await TestClient.connect(`${server.url}?token=${token}`);
    const closed = closedWith(test.ws);
    const doc = randomDoc();
    await test.request({ type: 'join', doc });
    const started = Date.now();
    const { code, reason } = await closed;
    expect({ code, reason }).toEqual({ code: 4401, reason: 'token expired' });
    // Closed at exp (at most 2 s away), not at some later sweep.
    expect(Date.now() - started).toBeLessThan(2_500);
  });

  it('keeps a connection whose token is still valid', async () => {
    const token = await hs256({ sub: 'alice', docs: grant, expiresInS: 3600 });
    const test = await TestClient.connect(`${server.url}?token=${token}`);
    expect((await test.request({ type: 'ping' })).type).toBe('pong');
    await test.close();
  });
});

describe('the SDK', () => {
  it('reconnects with a fresh token at expiry and sends what was unacked', async () => {
    const doc = randomDoc();
    let calls = 0;
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    const client = new FlowClient({
      url: server.url,
      reconnect: { minDelayMs: 10, maxDelayMs: 50 },
      token: async () => {
        calls++;
        // The second token is handed out only once the test has queued an op.
        if (calls === 2) await held;
        return hs256({ sub: 'alice', docs: grant, expiresInS: calls === 1 ? 2 : 3600 });
      },
    });
    clients.push(client);
    const closes: number[] = [];
    client.on('state', (change) => {
      if (change.code !== undefined) closes.push(change.code);
    });
    const handle = await client.join(doc);
    expect(await handle.submit(setOp(1))).toEqual({ seq: 1, dup: false });
    await until(() => closes.includes(4401), 5_000);
    const pending = handle.submit(setOp(2));
    expect(handle.pendingCount).toBe(1);
    release();
    expect(await pending).toEqual({ seq: 2, dup: false });
    expect(calls).toBe(2);
    expect(handle.state).toEqual({ nodes: { n: { v: 2 } } });
  });

  it('ends with UNAUTHORIZED at expiry when the token is a fixed string', async () => {
    const token = await hs256({ sub: 'alice', docs: grant, expiresInS: 2 });
    const client = new FlowClient({
      url: server.url,
      token,
      reconnect: { minDelayMs: 10, maxDelayMs: 50 },
    });
    clients.push(client);
    const errors: FlowError[] = [];
    client.on('error', (e) => errors.push(e));
    await client.join(randomDoc());
    await until(() => client.state === 'closed', 5_000);
    expect(errors.map((e) => e.code)).toContain('UNAUTHORIZED');
  });

  it('does not loop on a token source that keeps returning an expired token', async () => {
    let calls = 0;
    const expired = await hs256({ sub: 'alice', docs: grant, expiresInS: -60 });
    const client = new FlowClient({
      url: server.url,
      token: () => {
        calls++;
        return expired;
      },
      reconnect: { minDelayMs: 10, maxDelayMs: 20 },
    });
    clients.push(client);
    const errors: FlowError[] = [];
    client.on('error', (e) => errors.push(e));
    client.connect();
    await until(() => client.state === 'closed', 5_000);
    await delay(200);
    expect(calls).toBe(2);
    expect(errors.map((e) => e.code)).toEqual(['UNAUTHORIZED']);
    expect(errors[0]?.message).toContain('expired');
  });
});

async function until(check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await delay(20);
  }
}
