import { afterEach, describe, expect, it } from 'vitest';
import { randomDoc, startTestServer } from '../support/test-server';
import { TestClient, delay } from '../support/ws-client';

/**
 * Joins and leaves are rate-limited per connection (LIMIT_JOINS_PER_SECOND),
 * and presence carried by a join is charged to the presence budget: a
 * client cannot flood the other members through `join`.
 */
type Server = Awaited<ReturnType<typeof startTestServer>>;

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

describe('joins and leaves', () => {
  it('past the budget are answered RATE_LIMITED, naming the document', async () => {
    const server = await serve({ LIMIT_JOINS_PER_SECOND: '5', LIMIT_DOCS_PER_CONNECTION: '5' });
    const client = await connect(server);
    const doc = randomDoc();
    for (let i = 0; i < 20; i++) {
      client.send({ type: 'join', doc, ref: `j${i}` });
      client.send({ type: 'leave', doc, ref: `l${i}` });
    }
    await client.next((m) => 'ref' in m && m.ref === 'l19');
    const limited = client.of('error').filter((e) => e.code === 'RATE_LIMITED');
    expect(limited.length).toBeGreaterThanOrEqual(30);
    expect(limited[0]).toMatchObject({ doc, message: expect.stringContaining('joins and leaves') });
    expect(client.of('joined').length).toBeLessThanOrEqual(10);
  });

  it('carrying presence are charged to the presence budget', async () => {
    const server = await serve({
      LIMIT_JOINS_PER_SECOND: '1000',
      LIMIT_DOCS_PER_CONNECTION: '1000',
      LIMIT_PRESENCE_PER_SECOND: '5',
    });
    const doc = randomDoc();
    const observer = await connect(server);
    await observer.request({ type: 'join', doc });
    const flooder = await connect(server);
    for (let i = 0; i < 100; i++)
      flooder.send({ type: 'join', doc, presence: { i }, ref: `j${i}` });
    await flooder.next((m) => 'ref' in m && m.ref === 'j99', 10_000);
    await delay(200);
    const seen = observer.of('presence').filter((p) => p.state !== null);
    // The bucket holds 5 and refills 5 per second: far fewer than 100 got through.
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.length).toBeLessThanOrEqual(15);
  });
});
