import { afterEach } from 'vitest';
import { FlowClient, type FlowClientOptions } from '../../src/client';
import type { ClientEvents, DocumentEvents, DocumentHandle } from '../../src/client';
import type { DocState } from '../../src/protocol/messages';
import { FakeConnection, FakeServer } from './fake-server';

const servers: FakeServer[] = [];
const clients: FlowClient[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

/** A fake server torn down after the test. */
export async function startServer(options?: { welcome?: boolean }): Promise<FakeServer> {
  const server = await FakeServer.start(options);
  servers.push(server);
  return server;
}

/** A client closed after the test: fast reconnects, no keepalive unless asked. */
export function createClient(
  server: FakeServer | string,
  options: Partial<FlowClientOptions> = {},
): FlowClient {
  const client = new FlowClient({
    url: typeof server === 'string' ? server : server.url,
    reconnect: { minDelayMs: 10, maxDelayMs: 40 },
    pingIntervalMs: 0,
    ...options,
  });
  clients.push(client);
  return client;
}

export interface Joined {
  client: FlowClient;
  connection: FakeConnection;
  handle: DocumentHandle;
}

/** A client joined to `doc`, answered with a snapshot at `seq` of epoch `e1`. */
export async function joinedClient(
  server: FakeServer,
  init: { doc?: string; seq?: number; state?: DocState; epoch?: string } = {},
  options: Partial<FlowClientOptions> = {},
): Promise<Joined> {
  const client = createClient(server, options);
  const joining = client.join(init.doc ?? 'doc-1');
  const connection = await server.nextConnection();
  const join = await connection.next('join');
  connection.joinedSnapshot(join, {
    epoch: init.epoch ?? 'e1',
    seq: init.seq ?? 0,
    state: init.state ?? {},
  });
  return { client, connection, handle: await joining };
}

/** Resolves with the next payload of a typed event. */
export function nextEvent<K extends keyof ClientEvents>(
  target: FlowClient,
  event: K,
  timeoutMs?: number,
): Promise<ClientEvents[K]>;
export function nextEvent<K extends keyof DocumentEvents>(
  target: DocumentHandle,
  event: K,
  timeoutMs?: number,
): Promise<DocumentEvents[K]>;
export function nextEvent(
  target: FlowClient | DocumentHandle,
  event: string,
  timeoutMs = 2_000,
): Promise<unknown> {
  // The overloads above tie event names to payloads; here both emitters look alike.
  const emitter = target as unknown as {
    once(event: string, listener: (payload: unknown) => void): () => void;
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event} event in time`)), timeoutMs);
    emitter.once(event, (payload) => {
      clearTimeout(timer);
      resolve(payload);
    });
  });
}

/** Polls until `check` stops throwing. */
export async function eventually(check: () => void, timeoutMs = 2_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      check();
      return;
    } catch (err) {
      if (Date.now() >= deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }
}
