import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { MAX_ENTITY_BYTES, MAX_ENTITY_DEPTH, MAX_OPS_PER_MESSAGE } from '../../src/protocol';
import { jsonBytes } from '../../src/protocol/validate';
import { FlowClient } from '../../src/client';
import { startFlowChild, type FlowChild } from '../support/flow-processes';
import { waitFor } from '../support/scenarios';
import { randomDoc, startTestServer } from '../support/test-server';
import { TestClient, delay } from '../support/ws-client';

/**
 * The limits of PROTOCOL.md sections 2, 3 and 6 at their edges: the largest
 * accepted value passes and one more is refused, a refusal changes nothing,
 * and a client that stops reading costs the gateway a bounded amount of memory.
 */
type Server = Awaited<ReturnType<typeof startTestServer>>;

const servers: Server[] = [];
const clients: TestClient[] = [];
const children: FlowChild[] = [];
async function serve(vars: Record<string, string> = {}) {
  const server = await startTestServer(vars);
  servers.push(server);
  return server;
}
async function connect(url: string, id?: string) {
  const client = await TestClient.connect(url, id);
  clients.push(client);
  return client;
}
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(servers.splice(0).map((s) => s.close()));
  await Promise.all(children.splice(0).map((c) => c.kill('SIGKILL')));
});

async function docOf(server: { http: string }, doc: string) {
  const res = await fetch(`${server.http}/docs/${doc}`);
  return res.status === 404
    ? null
    : ((await res.json()) as { seq: number; state: Record<string, Record<string, unknown>> });
}

/** `{ pad: 'x...' }` whose JSON is exactly `bytes` long (ASCII). */
function entityOfBytes(bytes: number): { pad: string } {
  const overhead = jsonBytes({ pad: '' });
  return { pad: 'x'.repeat(bytes - overhead) };
}

/** An object nested `depth` levels deep (the object itself is level 1). */
function nested(depth: number): Record<string, unknown> {
  let value: Record<string, unknown> = { leaf: 1 };
  for (let level = 1; level < depth; level++) value = { d: value };
  return value;
}

describe('op messages', () => {
  it(`takes ${MAX_OPS_PER_MESSAGE} ops in one message and refuses ${MAX_OPS_PER_MESSAGE + 1}`, async () => {
    const server = await serve();
    const doc = randomDoc('ops');
    const a = await connect(server.url);
    await a.request({ type: 'join', doc });
    const ops = (n: number) =>
      Array.from({ length: n }, (_, i) => ({ op: 'set', coll: 'c', id: `e${i}`, value: { i } }));
    expect(
      await a.request({ type: 'op', doc, cseq: 1, ops: ops(MAX_OPS_PER_MESSAGE) }),
    ).toMatchObject({ type: 'ack', seq: 1 });
    expect(
      await a.request({ type: 'op', doc, cseq: 2, ops: ops(MAX_OPS_PER_MESSAGE + 1) }),
    ).toMatchObject({ type: 'error', code: 'BAD_REQUEST', doc, cseq: 2 });
    // Far more, still within the frame limit: 1,000 small ops.
    const dels = Array.from({ length: 1000 }, () => ({ op: 'del', coll: 'c', id: 'e0' }));
    expect(await a.request({ type: 'op', doc, cseq: 2, ops: dels })).toMatchObject({
      code: 'BAD_REQUEST',
    });
    const after = await docOf(server, doc);
    expect(after?.seq).toBe(1);
    expect(Object.keys(after?.state.c ?? {})).toHaveLength(MAX_OPS_PER_MESSAGE);
  });

  it(`entity size: exactly ${MAX_ENTITY_BYTES} bytes of JSON is taken, one more byte is refused (UTF-8 bytes, not characters)`, async () => {
    const server = await serve();
    const doc = randomDoc('size');
    const a = await connect(server.url);
    await a.request({ type: 'join', doc });
    const atLimit = entityOfBytes(MAX_ENTITY_BYTES);
    expect(jsonBytes(atLimit)).toBe(MAX_ENTITY_BYTES);
    const set = (cseq: number, value: unknown) =>
      a.request({ type: 'op', doc, cseq, ops: [{ op: 'set', coll: 'c', id: 'e', value }] });
    expect(await set(1, atLimit)).toMatchObject({ type: 'ack', seq: 1 });
    expect(await set(2, entityOfBytes(MAX_ENTITY_BYTES + 1))).toMatchObject({
      code: 'BAD_REQUEST',
      cseq: 2,
    });
    // 6000 euro signs are 6000 characters but 18000 bytes.
    expect(await set(2, { pad: '€'.repeat(6000) })).toMatchObject({ code: 'BAD_REQUEST' });
    // A lone surrogate counts as the 3 bytes of U+FFFD it becomes.
    expect(await set(2, { pad: '\ud800'.repeat(5500) })).toMatchObject({ code: 'BAD_REQUEST' });
    // Patch fields over the limit by themselves are refused too.
    expect(
      await a.request({
        type: 'op',
        doc,
        cseq: 2,
        ops: [{ op: 'patch', coll: 'c', id: 'e', fields: entityOfBytes(MAX_ENTITY_BYTES + 1) }],
      }),
    ).toMatchObject({ code: 'BAD_REQUEST' });
    // A patch that grows the entity past the limit by one byte is refused atomically.
    expect(
      await a.request({
        type: 'op',
        doc,
        cseq: 2,
        ops: [
          { op: 'set', coll: 'c', id: 'other', value: { v: 1 } },
          { op: 'patch', coll: 'c', id: 'e', fields: { z: 1 } },
        ],
      }),
    ).toMatchObject({ code: 'BAD_REQUEST', cseq: 2 });
    const after = await docOf(server, doc);
    expect(after).toMatchObject({ seq: 1, state: { c: { e: atLimit } } });
    expect(after?.state.c).not.toHaveProperty('other');
  });

  it(`entity depth: ${MAX_ENTITY_DEPTH} levels are taken, ${MAX_ENTITY_DEPTH + 1} refused, 20,000 refused without harm`, async () => {
    const server = await serve();
    const doc = randomDoc('depth');
    const a = await connect(server.url);
    await a.request({ type: 'join', doc });
    const set = (cseq: number, value: unknown) =>
      a.request({ type: 'op', doc, cseq, ops: [{ op: 'set', coll: 'c', id: 'e', value }] });
    expect(await set(1, nested(MAX_ENTITY_DEPTH))).toMatchObject({ type: 'ack', seq: 1 });
    expect(await set(2, nested(MAX_ENTITY_DEPTH + 1))).toMatchObject({ code: 'BAD_REQUEST' });
    // Arrays count as levels too.
    let array: unknown = [1];
    for (let i = 1; i < MAX_ENTITY_DEPTH; i++) array = [array];
    expect(await set(2, { a: array })).toMatchObject({ code: 'BAD_REQUEST' });
    // A hostile nesting, written by hand (JSON.stringify would recurse here).
    const deep = 20_000;
    const frame = `{"type":"op","doc":"${doc}","cseq":2,"ref":"deep","ops":[{"op":"set","coll":"c","id":"e","value":{"a":${'['.repeat(deep)}${']'.repeat(deep)}}}]}`;
    a.send(frame);
    expect(await a.next((m) => 'ref' in m && m.ref === 'deep')).toMatchObject({
      code: 'BAD_REQUEST',
    });
    const presence = `{"type":"presence","doc":"${doc}","ref":"deep-presence","state":{"a":${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}}}`;
    a.send(presence);
    expect(await a.next((m) => 'ref' in m && m.ref === 'deep-presence')).toMatchObject({
      code: 'BAD_REQUEST',
    });
    expect(await a.request({ type: 'ping' })).toMatchObject({ type: 'pong' });
    expect(await docOf(server, doc)).toMatchObject({ seq: 1 });
  });
});

describe('per-connection limits', () => {
  it('documents per connection: the limit counts joined documents, a leave frees a place, a re-join does not take one', async () => {
    const server = await serve({ LIMIT_DOCS_PER_CONNECTION: '3' });
    const a = await connect(server.url);
    const docs = [randomDoc('a'), randomDoc('b'), randomDoc('c')];
    for (const doc of docs)
      expect(await a.request({ type: 'join', doc })).toMatchObject({ type: 'joined' });
    // Joining one of them again starts its membership over and takes no new place.
    expect(await a.request({ type: 'join', doc: docs[0] })).toMatchObject({ type: 'joined' });
    const fourth = randomDoc('d');
    expect(await a.request({ type: 'join', doc: fourth })).toMatchObject({
      type: 'error',
      code: 'BAD_REQUEST',
      doc: fourth,
    });
    // The refused document was not joined: an op to it is NOT_JOINED.
    expect(
      await a.request({
        type: 'op',
        doc: fourth,
        cseq: 1,
        ops: [{ op: 'del', coll: 'c', id: 'x' }],
      }),
    ).toMatchObject({ code: 'NOT_JOINED' });
    expect(await a.request({ type: 'leave', doc: docs[1] })).toMatchObject({ type: 'left' });
    expect(await a.request({ type: 'join', doc: fourth })).toMatchObject({ type: 'joined' });
    // The limit is per connection: another connection has its own places.
    const b = await connect(server.url);
    for (const doc of docs)
      expect(await b.request({ type: 'join', doc })).toMatchObject({ type: 'joined' });
  });

  it('presence rate: updates beyond the limit are dropped with RATE_LIMITED; the others see only what passed; it refills', async () => {
    const server = await serve({ LIMIT_PRESENCE_PER_SECOND: '5' });
    const doc = randomDoc('presence');
    const a = await connect(server.url);
    const b = await connect(server.url);
    await a.request({ type: 'join', doc });
    await b.request({ type: 'join', doc });
    for (let i = 0; i < 25; i++) a.send({ type: 'presence', doc, state: { i } });
    await waitFor(
      () => a.of('error').length + b.of('presence').length >= 25,
      5_000,
      'every presence answered or delivered',
    );
    const limited = a.of('error').filter((e) => e.code === 'RATE_LIMITED' && e.doc === doc);
    const seen = b.of('presence').filter((p) => p.state !== null);
    expect(limited.length).toBeGreaterThanOrEqual(15);
    expect(seen.length).toBe(25 - limited.length);
    expect(seen.length).toBeLessThanOrEqual(10);
    // Presence from one client arrives in the order it was sent.
    const order = seen.map((p) => (p.state as { i: number }).i);
    expect(order).toEqual([...order].sort((x, y) => x - y));
    // Ops are not presence: they are not limited by it.
    expect(
      await a.request({
        type: 'op',
        doc,
        cseq: 1,
        ops: [{ op: 'set', coll: 'c', id: 'x', value: {} }],
      }),
    ).toMatchObject({ type: 'ack' });
    await delay(1100);
    a.send({ type: 'presence', doc, state: { after: true } });
    await b.next((m) => m.type === 'presence' && (m.state as { after?: boolean })?.after === true);
  });

  it('message rate: dropped op messages are not applied, and acks + RATE_LIMITED answer every message', async () => {
    const server = await serve({ LIMIT_MESSAGES_PER_SECOND: '10', LIMIT_MESSAGE_BURST: '10' });
    const doc = randomDoc('rate');
    const a = await connect(server.url);
    await a.request({ type: 'join', doc });
    const sent = 40;
    for (let cseq = 1; cseq <= sent; cseq++) {
      a.send({ type: 'op', doc, cseq, ops: [{ op: 'set', coll: 'c', id: `e${cseq}`, value: {} }] });
    }
    await waitFor(
      () => a.of('ack').length + a.of('error').length >= sent,
      5_000,
      'every op answered',
    );
    const acks = a.of('ack');
    const limited = a.of('error').filter((e) => e.code === 'RATE_LIMITED');
    expect(acks.length + limited.length).toBe(sent);
    // Each refusal names the op message it dropped, so a client knows which to send again.
    expect(limited.every((e) => e.doc === doc && typeof e.cseq === 'number')).toBe(true);
    expect([...acks, ...limited].map((m) => m.cseq).sort((x, y) => (x ?? 0) - (y ?? 0))).toEqual(
      Array.from({ length: sent }, (_, i) => i + 1),
    );
    expect(acks.length).toBeGreaterThanOrEqual(9);
    expect(acks.length).toBeLessThanOrEqual(12);
    await waitFor(async () => (await docOf(server, doc))?.seq === acks.length, 2_000, 'seq');
    const after = await docOf(server, doc);
    // Exactly the acked op messages are in the document.
    expect(Object.keys(after?.state.c ?? {}).sort()).toEqual(
      acks.map((ack) => `e${ack.cseq}`).sort(),
    );
    // The limit is per connection: another client is not slowed down by this one.
    const b = await connect(server.url);
    expect(await b.request({ type: 'ping' })).toMatchObject({ type: 'pong' });
  });

  it('SDK: every submit settles under the message rate limit (acked, or rejected RATE_LIMITED and rolled back)', async () => {
    const server = await serve({ LIMIT_MESSAGES_PER_SECOND: '2', LIMIT_MESSAGE_BURST: '3' });
    const client = new FlowClient({ url: server.url, pingIntervalMs: 0 });
    try {
      const handle = await client.join(randomDoc('sdk-rate'));
      const outcomes = await Promise.all(
        Array.from({ length: 6 }, (_, i) =>
          handle.submit([{ op: 'set', coll: 'c', id: `e${i}`, value: { i } }]).then(
            () => 'acked',
            (err: unknown) => (err as { code?: string }).code ?? 'error',
          ),
        ).map((p) => Promise.race([p, delay(3000).then(() => 'unsettled')])),
      );
      expect(outcomes).not.toContain('unsettled');
      expect(outcomes).toContain('RATE_LIMITED');
      // The rejected ones were rolled back: the local state holds the acked ones only.
      const acked = outcomes.flatMap((o, i) => (o === 'acked' ? [`e${i}`] : []));
      expect(Object.keys(handle.state.c ?? {}).sort()).toEqual(acked.sort());
    } finally {
      client.close();
    }
  });
});

describe('frame size', () => {
  const payloadLimit = 65_536;
  /** A ping frame of exactly `bytes` bytes. */
  const pingOf = (bytes: number, ref: string) => {
    const head = `{"type":"ping","ref":"${ref}","pad":"`;
    return `${head}${'x'.repeat(bytes - head.length - 2)}"}`;
  };

  it('a frame of exactly WS_MAX_PAYLOAD_BYTES is read; one byte more is TOO_LARGE and closes with 1009', async () => {
    const server = await serve();
    const a = await connect(server.url);
    const exact = pingOf(payloadLimit, 'exact');
    expect(Buffer.byteLength(exact)).toBe(payloadLimit);
    a.send(exact);
    expect(await a.next((m) => m.type === 'pong')).toMatchObject({ ref: 'exact' });
    a.send(pingOf(payloadLimit + 1, 'over'));
    expect(await a.next((m) => m.type === 'error')).toMatchObject({ code: 'TOO_LARGE' });
    expect(await a.closed).toBe(1009);
  });

  it('a binary frame over the limit is TOO_LARGE too; a frame far over it is dropped without a reply; the gateway serves on', async () => {
    const server = await serve({ WS_MAX_PAYLOAD_BYTES: '4096' });
    const a = await connect(server.url);
    a.ws.send(Buffer.alloc(5000, 1), { binary: true });
    expect(await a.next((m) => m.type === 'error')).toMatchObject({ code: 'TOO_LARGE' });
    expect(await a.closed).toBe(1009);
    // 64x the limit: uWS itself drops the connection before reading it.
    const b = await connect(server.url);
    b.ws.on('error', () => undefined);
    b.send(pingOf(4096 * 64, 'huge'));
    const code = await b.closed;
    expect([1006, 1009]).toContain(code);
    expect(b.of('pong')).toHaveLength(0);
    const c = await connect(server.url);
    expect(await c.request({ type: 'ping' })).toMatchObject({ type: 'pong' });
  });
});

describe('slow consumers', () => {
  /** Resident and peak memory of a process, in bytes, from /proc. */
  async function memoryOf(pid: number): Promise<{ rss: number; peak: number }> {
    const { readFile } = await import('node:fs/promises');
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string) =>
      Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1]) * 1024;
    return { rss: kb('VmRSS'), peak: kb('VmHWM') };
  }

  it('clients that stop reading are closed with 1013 and the gateway memory stays bounded by WS_MAX_BACKPRESSURE_BYTES', async () => {
    const maxBackpressure = 256 * 1024;
    const gateway = await startFlowChild(
      'all',
      {
        WS_MAX_BACKPRESSURE_BYTES: String(maxBackpressure),
        LIMIT_MESSAGES_PER_SECOND: '100000',
        LIMIT_MESSAGE_BURST: '100000',
      },
      40_000,
    );
    children.push(gateway);
    const pid = gateway.child.pid as number;
    const doc = randomDoc('flood');
    const writer = await connect(gateway.url);
    const reader = await connect(gateway.url);
    await writer.request({ type: 'join', doc });
    await reader.request({ type: 'join', doc });
    const big = 'x'.repeat(15_000);
    let cseq = 0;
    const burst = async (bytes: number) => {
      const count = Math.ceil(bytes / big.length / 100) * 100;
      for (let k = 0; k < count; k++) {
        cseq++;
        writer.send({
          type: 'op',
          doc,
          cseq,
          ops: [{ op: 'set', coll: 'c', id: `e${cseq % 10}`, value: { big } }],
        });
        if (cseq % 100 === 0) await writer.next((m) => m.type === 'ack' && m.cseq === cseq, 20_000);
      }
    };
    // Warm up the paths of a flood; the baseline is taken after it.
    const floodBytes = 30 * 1024 * 1024;
    await burst(1024 * 1024);
    await waitFor(() => reader.of('event').length === cseq, 20_000, 'reader caught up');
    const baseline = await memoryOf(pid);

    const slowCount = 16;
    const slow: TestClient[] = [];
    for (let i = 0; i < slowCount; i++) {
      const client = await connect(gateway.url);
      await client.request({ type: 'join', doc });
      // Stop reading: the kernel buffers fill, then the gateway's send buffer.
      (client.ws as unknown as { _socket: { pause(): void } })._socket.pause();
      slow.push(client);
    }
    // Each slow client would hold most of the flood were it not closed.
    await burst(floodBytes);
    // The paused clients cannot read their close frame yet: the gateway's count says it.
    const closes = async () => {
      const metrics = await (await fetch(`${gateway.http}/metrics`)).text();
      return Number(/flow_slow_consumer_closes_total (\d+)/.exec(metrics)?.[1] ?? 0);
    };
    await waitFor(async () => (await closes()) === slowCount, 20_000, 'slow clients closed');
    const after = await memoryOf(pid);
    for (const client of slow) {
      (client.ws as unknown as { _socket: { resume(): void } })._socket.resume();
      expect(await client.closed).toBe(1013);
    }
    // The reader kept up and saw every event; the writer still works.
    await waitFor(() => reader.of('event').length === cseq, 20_000, 'reader saw every event');
    expect(await writer.request({ type: 'ping' })).toMatchObject({ type: 'pong' });

    // Each slow client may cost at most uWS's own cap (4x the limit + 1 MiB,
    // see gateway-server.ts) before it is closed. The allowance is the heap
    // churn of 30 MB of JSON passing through, measured here with readers only
    // at 30-45 MB (garbage that a later major GC returns). Unbounded, the
    // gateway would hold about slowCount x 30 MB minus what the kernel's
    // socket buffers absorb (a few MB per socket): over 300 MB.
    const perClientCap = 4 * maxBackpressure + 1024 * 1024;
    const allowance = 64 * 2 ** 20;
    const bound = slowCount * perClientCap + allowance;
    const growth = after.peak - baseline.rss;
    const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MB`;
    console.info(
      `slow consumers: rss ${mb(baseline.rss)} before, peak ${mb(after.peak)} after ${mb(floodBytes)} ` +
        `fanned out with ${slowCount} non-reading clients: growth ${mb(growth)}, bound ${mb(bound)}`,
    );
    expect(growth).toBeLessThan(bound);
  }, 60_000);

  it('a client that asks for snapshots and never reads them is closed with 1013 too', async () => {
    const server = await serve({
      WS_MAX_BACKPRESSURE_BYTES: '65536',
      LIMIT_MESSAGES_PER_SECOND: '100000',
      LIMIT_MESSAGE_BURST: '100000',
    });
    const doc = randomDoc('self');
    const ws = new WebSocket(`${server.url}`);
    await new Promise((resolve) => ws.once('open', resolve));
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    ws.send(JSON.stringify({ type: 'join', doc }));
    await delay(100);
    (ws as unknown as { _socket: { pause(): void } })._socket.pause();
    // Direct replies count as well as fan-out: the largest a client can ask
    // for is a `joined` snapshot of a big document.
    const writer = await connect(server.url);
    await writer.request({ type: 'join', doc });
    for (let i = 0; i < 60; i++) {
      await writer.request({
        type: 'op',
        doc,
        cseq: i + 1,
        ops: [{ op: 'set', coll: 'c', id: `e${i}`, value: { pad: 'y'.repeat(15_000) } }],
      });
    }
    // Each join answers a ~900 KB snapshot that the paused socket never reads.
    for (let i = 0; i < 40 && ws.readyState === WebSocket.OPEN; i++) {
      ws.send(JSON.stringify({ type: 'join', doc }));
      await delay(20);
    }
    (ws as unknown as { _socket: { resume(): void } })._socket.resume();
    expect(await closed).toBe(1013);
    expect(await writer.request({ type: 'ping' })).toMatchObject({ type: 'pong' });
  }, 30_000);
});
