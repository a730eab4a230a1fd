import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FlowClient, type DocumentHandle } from '../../src/client';
import type { Op } from '../../src/protocol';
import { randomDoc, startTestServer } from '../support/test-server';
import { TcpProxy } from '../support/tcp-proxy';
import { delay } from '../support/ws-client';

type Server = Awaited<ReturnType<typeof startTestServer>>;

async function until(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await delay(20);
  }
}

describe('SDK against a real gateway', () => {
  let server: Server;
  let proxy: TcpProxy;
  const clients: FlowClient[] = [];

  beforeAll(async () => {
    server = await startTestServer();
    proxy = await TcpProxy.start(server.port);
  });
  afterAll(async () => {
    for (const client of clients) client.close();
    await proxy.close();
    await server.close();
  });

  const client = (url: string, id: string) => {
    const c = new FlowClient({ url, client: id, reconnect: { minDelayMs: 20, maxDelayMs: 200 } });
    clients.push(c);
    return c;
  };

  it('reconnects after the connection drops, resends unacked ops once, and converges', async () => {
    const doc = randomDoc('sdk');
    const direct = client(server.url, 'sdk-direct');
    const flaky = client(`ws://127.0.0.1:${proxy.port}/ws`, 'sdk-flaky');
    const a: DocumentHandle = await direct.join(doc);
    const b: DocumentHandle = await flaky.join(doc);

    const set = (id: string, value: Record<string, number>): Op[] => [
      { op: 'set', coll: 'nodes', id, value },
    ];
    const submits: Array<Promise<unknown>> = [];
    for (let k = 0; k < 30; k++) {
      submits.push(a.submit(set(`a${k % 5}`, { k })));
      submits.push(b.submit(set(`b${k % 5}`, { k })));
      if (k === 10 || k === 20) proxy.cut();
      if (k % 5 === 0) await delay(5);
    }
    await Promise.all(submits);
    const res = await fetch(`${server.http}/docs/${doc}`);
    const server_ = (await res.json()) as { seq: number; state: unknown };
    // Every op applied exactly once: 60 op messages, 60 seqs.
    expect(server_.seq).toBe(60);
    await until(() => a.seq === 60 && b.seq === 60);
    expect(a.state).toEqual(server_.state);
    expect(b.state).toEqual(server_.state);
    expect(b.pendingCount).toBe(0);
  });

  it('a new FlowClient reusing a client id keeps its ops (cseq continues above the old ones)', async () => {
    const doc = randomDoc('sdk-reuse');
    const first = client(server.url, 'sdk-reused');
    const handle = await first.join(doc);
    await handle.submit([{ op: 'set', coll: 'nodes', id: 'n', value: { v: 1 } }]);
    first.close();
    await delay(5);
    const second = client(server.url, 'sdk-reused');
    const again = await second.join(doc);
    const result = await again.submit([{ op: 'set', coll: 'nodes', id: 'n', value: { v: 2 } }]);
    expect(result).toEqual({ seq: 2, dup: false });
  });

  it('reports UNAUTHORIZED and stops when the server refuses a fixed token', async () => {
    const secured = await startTestServer({
      AUTH_JWT_SECRET: 'a-secret-that-is-long-enough-for-hs256',
    });
    try {
      const refused = new FlowClient({
        url: secured.url,
        token: 'not-a-jwt',
        reconnect: { minDelayMs: 10, maxDelayMs: 20 },
      });
      clients.push(refused);
      const error = new Promise<{ code: string }>((resolve) =>
        refused.on('error', (e) => resolve(e)),
      );
      const closed = new Promise<void>((resolve) =>
        refused.on('state', (change) => {
          if (change.state === 'closed') resolve();
        }),
      );
      refused.connect();
      expect((await error).code).toBe('UNAUTHORIZED');
      await closed;
    } finally {
      await secured.close();
    }
  });
});
