import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ServerMessage } from '../../src/protocol';
import { useRedisServers } from '../support/redis-harness';
import { randomKeyPrefix } from '../support/redis-harness';
import { TcpProxy } from '../support/tcp-proxy';
import { randomDoc, startTestServer } from '../support/test-server';
import { TestClient, delay } from '../support/ws-client';

type Server = Awaited<ReturnType<typeof startTestServer>>;

const answerTo = (doc: string, cseq: number) => (m: ServerMessage) =>
  (m.type === 'ack' || m.type === 'error') && m.doc === doc && m.cseq === cseq;

const op = (doc: string, cseq: number, id: string) => ({
  type: 'op',
  doc,
  cseq,
  ops: [{ op: 'set', coll: 'nodes', id, value: { cseq } }],
});

/**
 * The gateway's own link to Redis drops: joins are served again as soon as
 * it is back, and every op message the gateway accepted is answered on its
 * connection, even when pub/sub loses the answer.
 */
describe('a gateway that loses its link to Redis', () => {
  const redis = useRedisServers();
  let proxy: TcpProxy;
  let server: Server;
  const clients: TestClient[] = [];

  beforeAll(async () => {
    proxy = await TcpProxy.start(redis.addresses.single.port);
    server = await startTestServer({
      REDIS_HOST: '127.0.0.1',
      REDIS_PORT: String(proxy.port),
      REDIS_KEY_PREFIX: randomKeyPrefix(),
      REDIS_RETRY_DELAY: '50',
      USE_REDIS_WEBSOCKETS: 'true',
      USE_REDIS_COLLABORATION: 'true',
      USE_REDIS_EVENT_ORDERING: 'false',
    });
  }, 30_000);
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
  });
  afterAll(async () => {
    await server?.close();
    await proxy?.close();
  });

  const connect = async (id: string) => {
    const client = await TestClient.connect(server.url, id);
    clients.push(client);
    return client;
  };

  /** The server's state of `doc`, once Redis answers again. */
  const docState = async (doc: string) => {
    for (let attempt = 0; ; attempt++) {
      const res = await fetch(`${server.http}/docs/${doc}`);
      if (res.status === 200 || attempt > 50)
        return (await res.json()) as { seq: number; state: { nodes?: Record<string, unknown> } };
      await delay(100);
    }
  };

  it('serves a join right after the link is back, however recently a join failed', async () => {
    const doc = randomDoc('link');
    const client = await connect('link-1');
    // Longer than a join waits for the pub/sub connection.
    proxy.cut(4000);
    const refused = await client.request({ type: 'join', doc });
    expect(refused).toMatchObject({ type: 'error', code: 'UNAVAILABLE' });
    // Keep asking, faster than an empty feed lingers, as the SDK does.
    let reply = refused;
    const deadline = Date.now() + 10_000;
    while (reply.type !== 'joined' && Date.now() < deadline) {
      await delay(300);
      reply = await client.request({ type: 'join', doc });
    }
    expect(reply).toMatchObject({ type: 'joined', doc });
  }, 30_000);

  it('answers an op sent while the link is down, and never acks it as a duplicate later', async () => {
    const doc = randomDoc('answers');
    const client = await connect('answers-1');
    expect(await client.request({ type: 'join', doc })).toMatchObject({ type: 'joined' });
    proxy.cut(2000);
    client.send(op(doc, 1, 'A'));
    const first = await client.next(answerTo(doc, 1), 8000);
    await delay(2500);
    // The link is back: a later op goes through.
    client.send(op(doc, 2, 'B'));
    const second = await client.next(answerTo(doc, 2), 8000);
    expect(second).toMatchObject({ type: 'ack' });
    const state = await docState(doc);
    if (first.type === 'error') {
      expect(first.code).toBe('UNAVAILABLE');
      expect(state.state.nodes?.A).toBeUndefined();
      // A resend of the op that was never applied is not called a duplicate.
      client.send(op(doc, 1, 'A'));
      const resent = await client.next(answerTo(doc, 1), 8000);
      expect(resent).not.toMatchObject({ type: 'ack', dup: true });
    } else {
      expect(state.state.nodes?.A).toEqual({ cseq: 1 });
    }
  }, 30_000);

  it('answers an op whose connection left the document before it was applied', async () => {
    const doc = randomDoc('left');
    const client = await connect('answers-2');
    expect(await client.request({ type: 'join', doc })).toMatchObject({ type: 'joined' });
    proxy.cut(1500);
    client.send(op(doc, 1, 'A'));
    client.send({ type: 'leave', doc });
    const answer = await client.next(answerTo(doc, 1), 10_000);
    const state = await docState(doc);
    if (answer.type === 'ack') expect(state.state.nodes?.A).toEqual({ cseq: 1 });
    else expect(state.state.nodes?.A).toBeUndefined();
  }, 30_000);

  it('answers an op whose connection joined the document again before it was applied', async () => {
    const doc = randomDoc('rejoin');
    const client = await connect('answers-3');
    expect(await client.request({ type: 'join', doc })).toMatchObject({ type: 'joined' });
    proxy.cut(1500);
    client.send(op(doc, 1, 'A'));
    client.send({ type: 'join', doc });
    const answer = await client.next(answerTo(doc, 1), 10_000);
    await delay(1000);
    const state = await docState(doc);
    if (answer.type === 'ack') expect(state.state.nodes?.A).toEqual({ cseq: 1 });
    else expect(state.state.nodes?.A).toBeUndefined();
  }, 30_000);
});
