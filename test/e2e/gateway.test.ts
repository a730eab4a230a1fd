import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServerMessage } from '../../src/protocol';
import { randomDoc, startTestServer } from '../support/test-server';
import { TestClient, delay } from '../support/ws-client';

type Server = Awaited<ReturnType<typeof startTestServer>>;

const setNode = (id: string, value: Record<string, unknown>) => ({
  op: 'set',
  coll: 'nodes',
  id,
  value,
});

async function docState(server: Server, doc: string) {
  const res = await fetch(`${server.http}/docs/${doc}`);
  return {
    status: res.status,
    body: (await res.json()) as { seq: number; epoch: string; state: unknown },
  };
}

describe('gateway end to end (memory)', () => {
  let server: Server;
  const clients: TestClient[] = [];
  const connect = async (id?: string) => {
    const client = await TestClient.connect(server.url, id);
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    server = await startTestServer({ HISTORY_LENGTH: '5' });
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await server.close();
  });

  it('sends welcome with the requested client id and the node', async () => {
    const client = await connect('alice_1');
    const welcome = client.messages[0];
    expect(welcome).toMatchObject({ type: 'welcome', protocol: 1, client: 'alice_1' });
    expect(typeof (welcome as { node: string }).node).toBe('string');
  });

  it('assigns a client id when none is given', async () => {
    const client = await connect();
    const welcome = client.messages[0] as { client: string };
    expect(welcome.client).toMatch(/^[A-Za-z0-9_-]{1,64}$/);
  });

  it('three clients see one gap-free order; the sender gets ack, the others event', async () => {
    const doc = randomDoc();
    const [a, b, c] = await Promise.all([connect('a1'), connect('b1'), connect('c1')]);
    for (const client of [a, b, c]) {
      const joined = await client.request({ type: 'join', doc });
      expect(joined).toMatchObject({ type: 'joined', doc, seq: 0, state: {}, presence: [] });
    }
    const perClient = 10;
    for (let k = 1; k <= perClient; k++) {
      for (const [i, client] of [a, b, c].entries()) {
        client.send({ type: 'op', doc, cseq: k, ops: [setNode(`n${i}`, { k })] });
      }
    }
    const total = perClient * 3;
    for (const client of [a, b, c]) {
      await client
        .next((m) => (m.type === 'ack' || m.type === 'event') && m.seq === total, 5000)
        .catch(() => undefined);
    }
    await delay(50);
    const seen = [a, b, c].map((client) =>
      client.messages
        .filter(
          (m): m is Extract<ServerMessage, { type: 'ack' | 'event' }> =>
            m.type === 'ack' || m.type === 'event',
        )
        .map((m) => m.seq),
    );
    for (const seqs of seen) expect(seqs).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    // Each client acked exactly its own 10, in cseq order, and saw 20 events of others.
    for (const client of [a, b, c]) {
      expect(client.of('ack').map((m) => m.cseq)).toEqual(
        Array.from({ length: perClient }, (_, i) => i + 1),
      );
      const events = client.of('event');
      expect(events).toHaveLength(total - perClient);
      expect(
        events.every((e) => e.client !== (client.messages[0] as { client: string }).client),
      ).toBe(true);
    }
    // Everyone agrees on which op became which seq.
    const bySeq = (client: TestClient) =>
      new Map(client.of('event').map((e) => [e.seq, `${e.client}:${e.cseq}`]));
    const aEvents = bySeq(a);
    for (const [seq, who] of bySeq(b)) if (aEvents.has(seq)) expect(aEvents.get(seq)).toBe(who);
    const { body } = await docState(server, doc);
    expect(body.seq).toBe(total);
    expect(body.state).toEqual({ nodes: { n0: { k: 10 }, n1: { k: 10 }, n2: { k: 10 } } });
  });

  it('a resend with the same cseq is acked with dup:true and applied once', async () => {
    const doc = randomDoc();
    const a = await connect('dup-a');
    await a.request({ type: 'join', doc });
    const first = await a.request({
      type: 'op',
      doc,
      cseq: 7,
      ops: [{ op: 'set', coll: 'c', id: 'x', value: { n: 1 } }],
    });
    expect(first).toMatchObject({ type: 'ack', doc, cseq: 7, seq: 1 });
    expect(first).not.toHaveProperty('dup');
    const again = await a.request({
      type: 'op',
      doc,
      cseq: 7,
      ops: [{ op: 'set', coll: 'c', id: 'x', value: { n: 2 } }],
    });
    expect(again).toEqual(
      expect.objectContaining({ type: 'ack', doc, cseq: 7, seq: 1, dup: true }),
    );
    // After a reconnect under the same client id, still a duplicate.
    await a.close();
    const a2 = await connect('dup-a');
    await a2.request({ type: 'join', doc });
    const third = await a2.request({
      type: 'op',
      doc,
      cseq: 7,
      ops: [{ op: 'set', coll: 'c', id: 'x', value: { n: 3 } }],
    });
    expect(third).toMatchObject({ type: 'ack', cseq: 7, seq: 1, dup: true });
    const { body } = await docState(server, doc);
    expect(body).toMatchObject({ seq: 1, state: { c: { x: { n: 1 } } } });
  });

  it('answers a resend sent before the first ack too: one ack, then one dup:true', async () => {
    const doc = randomDoc();
    const a = await connect('eager-resender');
    await a.request({ type: 'join', doc });
    const op = { type: 'op', doc, cseq: 1, ops: [setNode('n', { v: 1 })] };
    a.send(op);
    a.send(op);
    const first = await a.next((m) => m.type === 'ack');
    const second = await a.next((m) => m.type === 'ack');
    expect(first).toEqual({ type: 'ack', doc, cseq: 1, seq: 1 });
    expect(second).toEqual({ type: 'ack', doc, cseq: 1, seq: 1, dup: true });
  });

  it('a join with since and epoch returns exactly the missed events', async () => {
    const doc = randomDoc();
    const a = await connect();
    const b = await connect('catchup-b');
    const joined = (await b.request({ type: 'join', doc })) as { epoch: string; seq: number };
    await a.request({ type: 'join', doc });
    await a.request({ type: 'op', doc, cseq: 1, ops: [setNode('n1', { v: 1 })] });
    await b.close();
    await a.request({ type: 'op', doc, cseq: 2, ops: [setNode('n2', { v: 2 })] });
    await a.request({
      type: 'op',
      doc,
      cseq: 3,
      ops: [{ op: 'patch', coll: 'nodes', id: 'n1', fields: { v: null, w: 3 } }],
    });
    const b2 = await connect('catchup-b');
    const resumed = await b2.request({ type: 'join', doc, since: 1, epoch: joined.epoch });
    expect(resumed).toMatchObject({ type: 'joined', doc, epoch: joined.epoch, seq: 3 });
    expect((resumed as { events: Array<{ seq: number }> }).events.map((e) => e.seq)).toEqual([
      2, 3,
    ]);
    expect(resumed).not.toHaveProperty('state');
    const upToDate = await b2.request({ type: 'join', doc, since: 3, epoch: joined.epoch });
    expect(upToDate).toMatchObject({ seq: 3, events: [] });
  });

  it('answers with a snapshot when since is too old, beyond the seq, or the epoch differs', async () => {
    const doc = randomDoc();
    const a = await connect();
    const joined = (await a.request({ type: 'join', doc })) as { epoch: string };
    for (let k = 1; k <= 30; k++) a.send({ type: 'op', doc, cseq: k, ops: [setNode('n', { k })] });
    await a.next((m) => m.type === 'ack' && m.cseq === 30);
    const b = await connect();
    for (const resume of [
      { since: 1, epoch: joined.epoch },
      { since: 99, epoch: joined.epoch },
      { since: 29, epoch: 'other' },
    ]) {
      const answer = await b.request({ type: 'join', doc, ...resume });
      expect(answer).toMatchObject({
        type: 'joined',
        seq: 30,
        epoch: joined.epoch,
        state: { nodes: { n: { k: 30 } } },
      });
      expect(answer).not.toHaveProperty('events');
    }
  });

  it('shares presence and announces null when a client disconnects', async () => {
    const doc = randomDoc();
    const a = await connect('pres-a');
    const b = await connect('pres-b');
    await a.request({ type: 'join', doc, presence: { name: 'Ann' } });
    const joined = await b.request({ type: 'join', doc });
    expect(joined).toMatchObject({
      presence: [{ client: 'pres-a', user: null, state: { name: 'Ann' } }],
    });
    a.send({ type: 'presence', doc, state: { cursor: [1, 2] } });
    expect(await b.next((m) => m.type === 'presence')).toEqual({
      type: 'presence',
      doc,
      client: 'pres-a',
      user: null,
      state: { cursor: [1, 2] },
    });
    await a.close();
    expect(await b.next((m) => m.type === 'presence')).toEqual({
      type: 'presence',
      doc,
      client: 'pres-a',
      user: null,
      state: null,
    });
    const c = await connect();
    const later = await c.request({ type: 'join', doc });
    expect(later).toMatchObject({ presence: [] });
  });

  it('leave is answered with left; ops after it are NOT_JOINED', async () => {
    const doc = randomDoc();
    const a = await connect();
    await a.request({ type: 'join', doc });
    expect(await a.request({ type: 'leave', doc })).toEqual(
      expect.objectContaining({ type: 'left', doc }),
    );
    const error = await a.request({ type: 'op', doc, cseq: 1, ops: [setNode('n', {})] });
    expect(error).toMatchObject({ type: 'error', code: 'NOT_JOINED', doc, cseq: 1 });
    expect(await a.request({ type: 'presence', doc, state: {} })).toMatchObject({
      code: 'NOT_JOINED',
    });
  });

  it('pipelined join and op: the op is acked after joined and counted once', async () => {
    const doc = randomDoc();
    const a = await connect();
    a.send({ type: 'join', doc, ref: 'j' });
    a.send({ type: 'op', doc, cseq: 1, ops: [setNode('n', { v: 1 })], ref: 'o' });
    const joined = await a.next((m) => m.type === 'joined');
    const ack = await a.next((m) => m.type === 'ack');
    expect(joined).toMatchObject({ seq: 0, ref: 'j' });
    expect(ack).toMatchObject({ seq: 1, cseq: 1, ref: 'o' });
  });

  it('answers a join superseded by a second join of the same document, and the second with joined', async () => {
    const doc = randomDoc();
    const a = await connect();
    a.send({ type: 'join', doc, ref: 'first' });
    a.send({ type: 'join', doc, ref: 'second' });
    const answers = [await a.next((m) => 'ref' in m), await a.next((m) => 'ref' in m)];
    const byRef = new Map(answers.map((m) => [(m as { ref: string }).ref, m]));
    expect(byRef.get('second')).toMatchObject({ type: 'joined', doc });
    expect(byRef.get('first')?.type).toMatch(/^(joined|error)$/);
  });

  it('answers ping with pong carrying the ref', async () => {
    const a = await connect();
    expect(await a.request({ type: 'ping' }, 'p-1')).toEqual({ type: 'pong', ref: 'p-1' });
  });

  it('GET /docs answers 404 for a document without a session and 400 for a bad id', async () => {
    expect((await fetch(`${server.http}/docs/${randomDoc()}`)).status).toBe(404);
    expect((await fetch(`${server.http}/docs/${encodeURIComponent('bad id!')}`)).status).toBe(400);
  });

  it('/health, /ws/stats and /metrics answer', async () => {
    const health = await fetch(`${server.http}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok' });
    const stats = (await (await fetch(`${server.http}/ws/stats`)).json()) as Record<
      string,
      unknown
    >;
    expect(stats).toMatchObject({
      role: 'all',
      services: { websockets: 'memory', collaboration: 'memory', eventOrdering: 'memory' },
    });
    expect(typeof stats.connections).toBe('number');
    const metrics = await (await fetch(`${server.http}/metrics`)).text();
    expect(metrics).toContain('flow_connections');
    expect(metrics).toContain('flow_ack_latency_seconds_bucket');
    // Earlier tests applied ops: the ordering lag was observed.
    expect(metrics).toMatch(/flow_ordering_lag_seconds_count [1-9]/);
  });
});
