import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { useRedisServers } from '../support/redis-harness';
import { flagEnv, redisEnv } from '../support/redis-env';
import { randomDoc, startTestServer } from '../support/test-server';
import { TestClient, delay } from '../support/ws-client';

/**
 * Documents opened by a join and never edited cost nothing once their last
 * member left, and one user may open only LIMIT_NEW_DOCS_PER_MINUTE of them
 * a minute: an account cannot fill Redis or memory with empty sessions.
 */
type Server = Awaited<ReturnType<typeof startTestServer>>;
const redis = useRedisServers();

const opened: Array<{ close(): Promise<unknown> }> = [];
afterEach(async () => {
  for (const item of opened.splice(0).reverse()) await item.close();
});

async function serve(vars: Record<string, string>): Promise<Server> {
  const server = await startTestServer(vars);
  opened.push(server);
  return server;
}
async function connect(server: Server): Promise<TestClient> {
  const client = await TestClient.connect(server.url);
  opened.push(client);
  return client;
}
async function statusOf(server: Server, doc: string): Promise<number> {
  return (await fetch(`${server.http}/docs/${doc}`)).status;
}
/** The feed lingers 2 s after its last member left; then the blank session goes. */
const AFTER_LINGER_MS = 3000;

const modes = [
  { name: 'in memory', vars: () => ({}) },
  {
    name: 'in Redis',
    vars: () => ({
      ...redisEnv(redis.addresses, 'single', `blank-${Math.random().toString(36).slice(2)}:`),
      ...flagEnv({ websockets: true, collaboration: true, eventOrdering: true }),
    }),
  },
];

describe.each(modes)('never-edited documents ($name)', (mode) => {
  it('leave nothing behind once their last member left, while edited ones stay', async () => {
    const vars = mode.vars();
    const server = await serve(vars);
    const client = await connect(server);
    const blank = Array.from({ length: 30 }, () => randomDoc('blank'));
    for (const doc of blank) {
      await client.request({ type: 'join', doc });
      await client.request({ type: 'leave', doc });
    }
    const edited = randomDoc('edited');
    await client.request({ type: 'join', doc: edited });
    await client.request({
      type: 'op',
      doc: edited,
      cseq: 1,
      ops: [{ op: 'set', coll: 'nodes', id: 'n1', value: { x: 1 } }],
    });
    await client.request({ type: 'leave', doc: edited });
    // Held by another connection: not dropped while it is joined.
    const held = randomDoc('held');
    const holder = await connect(server);
    await holder.request({ type: 'join', doc: held });

    expect(await statusOf(server, blank[0] as string)).toBe(200);
    await delay(AFTER_LINGER_MS);
    for (const doc of blank) expect(await statusOf(server, doc), doc).toBe(404);
    expect(await statusOf(server, edited)).toBe(200);
    expect(await statusOf(server, held)).toBe(200);

    if ('REDIS_KEY_PREFIX' in vars) {
      const client = new Redis({
        host: redis.addresses.single.host,
        port: redis.addresses.single.port,
      });
      try {
        const keys = await client.keys(`${vars.REDIS_KEY_PREFIX}*{blank-*`);
        expect(keys.filter((k) => !k.includes(':fence:'))).toEqual([]);
      } finally {
        client.disconnect();
      }
    }
  });
});

describe('LIMIT_NEW_DOCS_PER_MINUTE', () => {
  it('answers joins of more new documents RATE_LIMITED, and the refused ones leave nothing', async () => {
    const server = await serve({ LIMIT_NEW_DOCS_PER_MINUTE: '5' });
    const writer = await connect(server);
    const edited = randomDoc('edited');
    await writer.request({ type: 'join', doc: edited });
    await writer.request({
      type: 'op',
      doc: edited,
      cseq: 1,
      ops: [{ op: 'set', coll: 'nodes', id: 'n1', value: { x: 1 } }],
    });

    const client = await connect(server);
    const docs = Array.from({ length: 7 }, () => randomDoc('new'));
    const answers = [];
    for (const doc of docs) answers.push(await client.request({ type: 'join', doc }));
    expect(answers.slice(0, 5).map((a) => a.type)).toEqual(Array(5).fill('joined'));
    for (const answer of answers.slice(5)) {
      expect(answer).toMatchObject({
        type: 'error',
        code: 'RATE_LIMITED',
        message: expect.stringContaining('new (never edited) documents per minute'),
      });
    }
    // A document with content is not new: still joined.
    expect((await client.request({ type: 'join', doc: edited })).type).toBe('joined');
    await delay(AFTER_LINGER_MS);
    expect(await statusOf(server, docs[6] as string)).toBe(404);
  });
});
