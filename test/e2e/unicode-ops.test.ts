import { afterEach, describe, expect, it } from 'vitest';
import { useRedisServers } from '../support/redis-harness';
import { flagEnv, redisEnv } from '../support/redis-env';
import { randomDoc, startTestServer } from '../support/test-server';
import { TestClient } from '../support/ws-client';

/**
 * A string with a lone UTF-16 surrogate (valid JSON, no text) is refused at
 * the gateway with BAD_REQUEST. In BullMQ mode such an op reached the
 * document's queue, Redis's JSON decoder refused the job, and the document
 * stopped: no later op of anyone was applied.
 */
const redis = useRedisServers();
const opened: Array<{ close(): Promise<unknown> }> = [];
afterEach(async () => {
  for (const item of opened.splice(0).reverse()) await item.close();
});

describe.each([
  { name: 'in-process ordering', queue: false },
  { name: 'BullMQ ordering', queue: true },
])('an op with a lone surrogate ($name)', ({ queue }) => {
  it("is refused, and the document's later ops are applied", async () => {
    const server = await startTestServer({
      ...redisEnv(redis.addresses, 'single'),
      ...flagEnv({ websockets: true, collaboration: true, eventOrdering: queue }),
    });
    opened.push(server);
    const doc = randomDoc('unicode');
    const writer = await TestClient.connect(server.url);
    opened.push(writer);
    await writer.request({ type: 'join', doc });
    // Sent as text: the escape stays an escape on the wire.
    writer.ws.send(
      `{"type":"op","doc":"${doc}","cseq":1,"ops":[{"op":"set","coll":"c","id":"i","value":{"s":"\\ud958"}}],"ref":"r1"}`,
    );
    const refusal = await writer.next((m) => 'ref' in m && m.ref === 'r1');
    expect(refusal).toMatchObject({ type: 'error', code: 'BAD_REQUEST', doc, cseq: 1 });
    writer.ws.send(`{"type":"ping","ref":"\\udc00"}`);
    const other = await TestClient.connect(server.url);
    opened.push(other);
    await other.request({ type: 'join', doc });
    const ack = await other.request({
      type: 'op',
      doc,
      cseq: 1,
      ops: [{ op: 'set', coll: 'c', id: 'ok', value: { s: '😀' } }],
    });
    expect(ack).toMatchObject({ type: 'ack', seq: 1 });
  });
});
