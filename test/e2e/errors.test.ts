import { SignJWT } from 'jose';
import WebSocket from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { randomDoc, startTestServer } from '../support/test-server';
import { TestClient, delay } from '../support/ws-client';

type Server = Awaited<ReturnType<typeof startTestServer>>;

const servers: Server[] = [];
const clients: TestClient[] = [];
async function serve(vars: Record<string, string> = {}) {
  const server = await startTestServer(vars);
  servers.push(server);
  return server;
}
async function connect(server: Server, id?: string) {
  const client = await TestClient.connect(server.url, id);
  clients.push(client);
  return client;
}
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function stateOf(server: Server, doc: string) {
  return (await (await fetch(`${server.http}/docs/${doc}`)).json()) as {
    seq: number;
    state: unknown;
  };
}

describe('bad input', () => {
  it('answers each malformed message with BAD_REQUEST, keeps the connection and changes no document', async () => {
    const server = await serve();
    const doc = randomDoc();
    const a = await connect(server);
    await a.request({ type: 'join', doc });
    await a.request({
      type: 'op',
      doc,
      cseq: 1,
      ops: [{ op: 'set', coll: 'nodes', id: 'n', value: { v: 1 } }],
    });
    const bad: unknown[] = [
      'not json',
      '[1,2]',
      '42',
      { type: 'nope' },
      { doc },
      { type: 'join' },
      { type: 'join', doc: 'has space' },
      { type: 'op', doc, cseq: 0, ops: [{ op: 'del', coll: 'c', id: 'i' }] },
      { type: 'op', doc, cseq: 2, ops: [] },
      { type: 'op', doc, cseq: 2, ops: [{ op: 'set', coll: '__proto__', id: 'x', value: {} }] },
      {
        type: 'op',
        doc,
        cseq: 2,
        ops: [{ op: 'set', coll: 'c', id: 'x', value: { constructor: 1 } }],
      },
      { type: 'op', doc, cseq: 2, ops: [{ op: 'set', coll: 'c', id: 'x', value: [1] }] },
      {
        type: 'op',
        doc,
        cseq: 2,
        ops: [{ op: 'set', coll: 'c', id: 'x', value: { big: 'x'.repeat(17000) } }],
      },
      { type: 'presence', doc, state: 5 },
      { type: 'ping', ref: 'r'.repeat(65) },
    ];
    for (const message of bad) {
      a.send(message);
      const reply = await a.next((m) => m.type === 'error');
      expect(reply).toMatchObject({ type: 'error', code: 'BAD_REQUEST' });
      expect((reply as { message: string }).message.length).toBeGreaterThan(5);
    }
    a.ws.send(Buffer.from([1, 2, 3]), { binary: true });
    expect(await a.next((m) => m.type === 'error')).toMatchObject({ code: 'BAD_REQUEST' });
    expect(await a.request({ type: 'ping' })).toMatchObject({ type: 'pong' });
    expect(await stateOf(server, doc)).toMatchObject({ seq: 1, state: { nodes: { n: { v: 1 } } } });
  });

  it('refuses a patch that would make an entity too large, atomically, with the cseq', async () => {
    const server = await serve();
    const doc = randomDoc();
    const a = await connect(server);
    await a.request({ type: 'join', doc });
    await a.request({
      type: 'op',
      doc,
      cseq: 1,
      ops: [{ op: 'set', coll: 'c', id: 'e', value: { a: 'x'.repeat(10000) } }],
    });
    const reply = await a.request({
      type: 'op',
      doc,
      cseq: 2,
      ops: [
        { op: 'set', coll: 'c', id: 'other', value: { v: 1 } },
        { op: 'patch', coll: 'c', id: 'e', fields: { b: 'y'.repeat(10000) } },
      ],
    });
    expect(reply).toMatchObject({ type: 'error', code: 'BAD_REQUEST', doc, cseq: 2 });
    const after = await stateOf(server, doc);
    expect(after.seq).toBe(1);
    expect(after.state).not.toHaveProperty('c.other');
  });

  it('closes with 1009 after TOO_LARGE for a frame over the limit', async () => {
    const server = await serve({ WS_MAX_PAYLOAD_BYTES: '1024' });
    const a = await connect(server);
    a.send({ type: 'ping', pad: 'x'.repeat(2000) });
    expect(await a.next((m) => m.type === 'error')).toMatchObject({ code: 'TOO_LARGE' });
    expect(await a.closed).toBe(1009);
  });

  it('drops messages over the rate limit with RATE_LIMITED and keeps the connection', async () => {
    const server = await serve({ LIMIT_MESSAGES_PER_SECOND: '5', LIMIT_MESSAGE_BURST: '5' });
    const a = await connect(server);
    for (let i = 0; i < 20; i++) a.send({ type: 'ping', ref: `p${i}` });
    await a.next((m) => m.type === 'error' && m.code === 'RATE_LIMITED');
    await delay(300);
    expect(a.of('pong').length).toBeGreaterThanOrEqual(5);
    expect(a.of('pong').length).toBeLessThan(20);
    await delay(1000);
    expect(await a.request({ type: 'ping' })).toMatchObject({ type: 'pong' });
  });

  it('limits presence updates per second', async () => {
    const server = await serve({ LIMIT_PRESENCE_PER_SECOND: '2' });
    const doc = randomDoc();
    const a = await connect(server);
    await a.request({ type: 'join', doc });
    for (let i = 0; i < 5; i++) a.send({ type: 'presence', doc, state: { i } });
    expect(await a.next((m) => m.type === 'error')).toMatchObject({ code: 'RATE_LIMITED', doc });
  });

  it('limits the documents one connection may join', async () => {
    const server = await serve({ LIMIT_DOCS_PER_CONNECTION: '2' });
    const a = await connect(server);
    await a.request({ type: 'join', doc: randomDoc() });
    await a.request({ type: 'join', doc: randomDoc() });
    expect(await a.request({ type: 'join', doc: randomDoc() })).toMatchObject({
      type: 'error',
      code: 'BAD_REQUEST',
    });
  });

  it('refuses an invalid client id at upgrade with 400', async () => {
    const server = await serve();
    const status = await new Promise<number>((resolve) => {
      const ws = new WebSocket(`${server.url}?client=${encodeURIComponent('bad id')}`);
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('open', () => resolve(101));
    });
    expect(status).toBe(400);
  });
});

describe('slow consumers and shutdown', () => {
  it('closes a client that stops reading with 1013 and keeps serving the others', async () => {
    const server = await serve({
      WS_MAX_BACKPRESSURE_BYTES: '65536',
      LIMIT_MESSAGES_PER_SECOND: '100000',
      LIMIT_MESSAGE_BURST: '100000',
    });
    const doc = randomDoc();
    const slow = await connect(server);
    const writer = await connect(server);
    await slow.request({ type: 'join', doc });
    await writer.request({ type: 'join', doc });
    // Stop reading: the kernel buffers fill, then the gateway's send buffer.
    (slow.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    // Loopback socket buffers absorb a few MB before the gateway's buffer grows.
    const big = 'x'.repeat(15000);
    for (let k = 1; k <= 3000 && slow.closeCode === null; k++) {
      writer.send({
        type: 'op',
        doc,
        cseq: k,
        ops: [{ op: 'set', coll: 'c', id: `e${k % 10}`, value: { big } }],
      });
      if (k % 100 === 0) await writer.next((m) => m.type === 'ack' && m.cseq === k);
    }
    (slow.ws as unknown as { _socket: { resume(): void } })._socket.resume();
    expect(await slow.closed).toBe(1013);
    expect(await writer.request({ type: 'ping' })).toMatchObject({ type: 'pong' });
    const metrics = await (await fetch(`${server.http}/metrics`)).text();
    expect(metrics).toMatch(/flow_slow_consumer_closes_total [1-9]/);
  });

  it('closes clients with 1001 on shutdown', async () => {
    const server = await serve();
    const a = await connect(server);
    await server.close();
    expect(await a.closed).toBe(1001);
  });
});

describe('authentication', () => {
  const secret = 'test-secret-that-is-long-enough-for-hs256';
  const key = new TextEncoder().encode(secret);
  const token = (claims: Record<string, unknown>, expiresIn = '1h', signingKey = key) =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('user-1')
      .setExpirationTime(expiresIn)
      .sign(signingKey);
  const upgradeStatus = (server: Server, query: string) =>
    new Promise<number>((resolve) => {
      const ws = new WebSocket(`${server.url}?${query}`);
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('open', () => {
        ws.close();
        resolve(101);
      });
    });

  it('refuses a missing, malformed, badly signed or expired token with 401', async () => {
    const server = await serve({ AUTH_JWT_SECRET: secret });
    expect(await upgradeStatus(server, '')).toBe(401);
    expect(await upgradeStatus(server, 'token=abc')).toBe(401);
    const wrongKey = new TextEncoder().encode('another-secret-another-secret-another');
    expect(
      await upgradeStatus(
        server,
        `token=${await token({ docs: { '*': 'write' } }, '1h', wrongKey)}`,
      ),
    ).toBe(401);
    const expired = await new SignJWT({ docs: { '*': 'write' } })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('u')
      .setExpirationTime(Math.floor(Date.now() / 1000) - 60)
      .sign(key);
    expect(await upgradeStatus(server, `token=${expired}`)).toBe(401);
    expect(await upgradeStatus(server, `token=${await token({ docs: { '*': 'write' } })}`)).toBe(
      101,
    );
  });

  it('answers FORBIDDEN for a document not granted and for an op on a read grant; reports the user', async () => {
    const server = await serve({ AUTH_JWT_SECRET: secret });
    const doc = randomDoc('ro');
    const writerDoc = randomDoc('rw');
    const jwt = await token({ docs: { [doc]: 'read', [writerDoc]: 'write' } });
    const a = await TestClient.connect(
      `${server.url}?token=${jwt}&x=1`.replace('?token', '?token'),
    );
    clients.push(a);
    expect(await a.request({ type: 'join', doc: randomDoc() })).toMatchObject({
      code: 'FORBIDDEN',
    });
    expect(await a.request({ type: 'join', doc })).toMatchObject({ type: 'joined' });
    expect(
      await a.request({ type: 'op', doc, cseq: 1, ops: [{ op: 'del', coll: 'c', id: 'i' }] }),
    ).toMatchObject({
      code: 'FORBIDDEN',
      cseq: 1,
    });
    await a.request({ type: 'join', doc: writerDoc, presence: { name: 'U' } });
    const b = await TestClient.connect(
      `${server.url}?token=${await token({ docs: { '*': 'read' } })}`,
    );
    clients.push(b);
    const joined = await b.request({ type: 'join', doc: writerDoc });
    expect(joined).toMatchObject({ presence: [{ user: 'user-1', state: { name: 'U' } }] });
  });

  it('GET /docs needs a token granting the document', async () => {
    const server = await serve({ AUTH_JWT_SECRET: secret });
    const doc = randomDoc();
    const a = await TestClient.connect(
      `${server.url}?token=${await token({ docs: { [doc]: 'write' } })}`,
    );
    clients.push(a);
    await a.request({ type: 'join', doc });
    expect((await fetch(`${server.http}/docs/${doc}`)).status).toBe(401);
    const read = await token({ docs: { [doc]: 'read' } });
    expect(
      (await fetch(`${server.http}/docs/${doc}`, { headers: { authorization: `Bearer ${read}` } }))
        .status,
    ).toBe(200);
    expect((await fetch(`${server.http}/docs/${doc}?token=${read}`)).status).toBe(200);
    const other = await token({ docs: { other: 'read' } });
    expect((await fetch(`${server.http}/docs/${doc}?token=${other}`)).status).toBe(403);
  });
});

describe('one process per port when a service is in memory', () => {
  it('refuses a second all-in-memory process on the same port, naming the cause', async () => {
    const first = await serve();
    await expect(startTestServer({ PORT: String(first.port) })).rejects.toThrow(
      /serves one process only/,
    );
  });
});
