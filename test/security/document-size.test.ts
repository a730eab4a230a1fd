import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useRedisServers } from '../support/redis-harness';
import { flagEnv, redisEnv } from '../support/redis-env';
import { randomDoc, startTestServer } from '../support/test-server';
import { TestClient } from '../support/ws-client';

/**
 * PROTOCOL.md section 2: a document's state may be at most DOC_MAX_BYTES as
 * JSON; an op that would take it past that is refused with TOO_LARGE, the
 * document is unchanged and the connection stays open. Held in every mode,
 * to the byte.
 */
type Server = Awaited<ReturnType<typeof startTestServer>>;

const MAX = 3000;
const redis = useRedisServers();

describe.each([
  ['in memory', () => ({})],
  [
    'in Redis',
    () => ({
      ...redisEnv(redis.addresses, 'single'),
      ...flagEnv({ websockets: true, collaboration: true, eventOrdering: true }),
    }),
  ],
] as const)('DOC_MAX_BYTES %s', (_name, env) => {
  let server: Server;
  let client: TestClient;
  let cseq = 0;

  beforeAll(async () => {
    server = await startTestServer({ DOC_MAX_BYTES: String(MAX), ...env() });
    client = await TestClient.connect(server.url);
  });
  afterAll(async () => {
    await client.close();
    await server.close();
  });

  const op = (doc: string, ops: unknown[]) =>
    client.request({ type: 'op', doc, cseq: ++cseq, ops });
  const set = (coll: string, id: string, p: string) => ({ op: 'set', coll, id, value: { p } });

  async function stateJson(doc: string): Promise<string> {
    const res = await fetch(`${server.http}/docs/${doc}`);
    return JSON.stringify(((await res.json()) as { state: unknown }).state);
  }

  it('refuses the op that would pass the limit, keeps the document and the connection', async () => {
    const doc = randomDoc();
    await client.request({ type: 'join', doc });
    const answers = [];
    for (let i = 0; i < 8; i++)
      answers.push(await op(doc, [set('nodes', `n${i}`, 'x'.repeat(500))]));
    const refused = answers.findIndex((a) => a.type === 'error');
    expect(refused).toBeGreaterThan(0);
    expect(answers.slice(0, refused).every((a) => a.type === 'ack')).toBe(true);
    expect(answers[refused]).toMatchObject({ type: 'error', code: 'TOO_LARGE', doc });
    expect((answers[refused] as { message: string }).message).toContain('DOC_MAX_BYTES');
    const json = await stateJson(doc);
    expect(Buffer.byteLength(json)).toBeLessThanOrEqual(MAX);
    expect(JSON.parse(json)).toEqual({
      nodes: Object.fromEntries(
        Array.from({ length: refused }, (_, i) => [`n${i}`, { p: 'x'.repeat(500) }]),
      ),
    });
    expect((await client.request({ type: 'ping' })).type).toBe('pong');
    // Making room lets edits through again.
    expect(await op(doc, [{ op: 'del', coll: 'nodes', id: 'n0' }])).toMatchObject({ type: 'ack' });
    expect(await op(doc, [set('other', 'o', 'y'.repeat(300))])).toMatchObject({ type: 'ack' });
  });

  it('counts to the byte: exactly DOC_MAX_BYTES is accepted, one byte more is not', async () => {
    const doc = randomDoc();
    await client.request({ type: 'join', doc });
    await op(doc, [set('a', 'x', 'é'.repeat(100)), set('b-coll', 'y.1:z', 'q')]);
    await op(doc, [set('a', 'gone', 'zz'), { op: 'del', coll: 'a', id: 'gone' }]);
    await op(doc, [set('c', 'tmp', 'v'), { op: 'del', coll: 'c', id: 'tmp' }]);
    const length = Buffer.byteLength(await stateJson(doc));
    // A new entity in collection "a" adds '"fill":{"p":"…"}' and a comma: 16 bytes and the padding.
    const fill = MAX - length - 16;
    expect(await op(doc, [set('a', 'fill', 'f'.repeat(fill + 1))])).toMatchObject({
      code: 'TOO_LARGE',
    });
    expect(await op(doc, [set('a', 'fill', 'f'.repeat(fill))])).toMatchObject({ type: 'ack' });
    expect(Buffer.byteLength(await stateJson(doc))).toBe(MAX);
    expect(
      await op(doc, [{ op: 'patch', coll: 'b-coll', id: 'y.1:z', fields: { more: 1 } }]),
    ).toMatchObject({ code: 'TOO_LARGE' });
    expect(Buffer.byteLength(await stateJson(doc))).toBe(MAX);
  });
});
