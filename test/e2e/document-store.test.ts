import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DocumentBackend } from '../support/document-backend';
import { startFlowChild, type FlowChild } from '../support/flow-processes';
import { randomDoc, startTestServer } from '../support/test-server';
import { TestClient } from '../support/ws-client';
import { edit, readDoc, savedAt, setNode, type Joined } from '../support/document-edits';
import { useRedisServers } from '../support/redis-harness';
import { flagEnv, redisEnv } from '../support/redis-env';

/** Opening the embedded database (WebAssembly) takes seconds on a busy machine. */
const START_TIMEOUT_MS = 60_000;
const TWO_STARTS_MS = 3 * START_TIMEOUT_MS;

describe('the embedded store across a crash and a graceful stop (npm start)', () => {
  let dir: string;
  const children: FlowChild[] = [];
  const clients: TestClient[] = [];

  const start = async (vars: Record<string, string> = {}) => {
    const child = await startFlowChild(
      'all',
      {
        DOCUMENT_STORE: `file:${path.join(dir, 'documents')}`,
        STORE_DEBOUNCE_MS: '100',
        ...vars,
      },
      START_TIMEOUT_MS,
    );
    children.push(child);
    return child;
  };
  const connect = async (child: FlowChild) => {
    const client = await TestClient.connect(child.url);
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'flow-store-e2e-'));
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await Promise.all(children.splice(0).map((c) => c.kill('SIGKILL')));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it(
    'brings a document back at the same epoch, seq and state after kill -9',
    async () => {
      const doc = randomDoc();
      const first = await start();
      const writer = await connect(first);
      const joined = (await writer.request({ type: 'join', doc })) as Joined;
      expect(joined).toMatchObject({ seq: 0, savedSeq: 0 });
      const seq = await edit(writer, doc, 1, 5);
      await writer.next(savedAt(seq), 10_000);
      const before = await readDoc(first.http, doc);
      await first.kill('SIGKILL');

      const second = await start();
      // Read over HTTP before any join: the route falls back to the store.
      expect(await readDoc(second.http, doc)).toEqual(before);
      const reader = await connect(second);
      const rejoined = (await reader.request({ type: 'join', doc })) as Joined;
      expect(rejoined).toMatchObject({
        type: 'joined',
        epoch: joined.epoch,
        seq,
        savedSeq: seq,
        state: before.body.state,
      });
      // Editing continues the stored history.
      expect(await edit(reader, doc, 1, 1)).toBe(seq + 1);
    },
    TWO_STARTS_MS,
  );

  it(
    'stores pending snapshots before a graceful stop ends the process',
    async () => {
      const doc = randomDoc();
      // A debounce longer than the test: only the shutdown flush can store it.
      const first = await start({ STORE_DEBOUNCE_MS: '600000', STORE_MAX_DELAY_MS: '600000' });
      const writer = await connect(first);
      await writer.request({ type: 'join', doc });
      const seq = await edit(writer, doc, 1, 3);
      const before = await readDoc(first.http, doc);
      expect(await first.kill('SIGTERM')).toBe(0);

      const second = await start();
      const reader = await connect(second);
      const rejoined = (await reader.request({ type: 'join', doc })) as Joined;
      expect(rejoined).toMatchObject({ seq, savedSeq: seq, state: before.body.state });
    },
    TWO_STARTS_MS,
  );
});

const servers = useRedisServers();

/** Where the documents live while the store keeps them. */
const modes = [
  { name: 'documents in memory', vars: (): Record<string, string> => ({}) },
  {
    name: 'documents in a Redis Cluster',
    vars: (): Record<string, string> => ({
      ...redisEnv(servers.addresses, 'cluster'),
      ...flagEnv({ websockets: true, collaboration: true, eventOrdering: false }),
    }),
  },
];

describe.each(modes)('an HTTP document store that fails ($name)', (mode) => {
  let backend: DocumentBackend;
  let server: Awaited<ReturnType<typeof startTestServer>>;
  const clients: TestClient[] = [];
  const connect = async () => {
    const client = await TestClient.connect(server.url);
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    backend = await DocumentBackend.start();
    server = await startTestServer({
      ...mode.vars(),
      DOCUMENT_STORE: backend.url,
      DOCUMENT_STORE_SECRET: backend.secret,
      DOCUMENT_STORE_RETRIES: '0',
      STORE_DEBOUNCE_MS: '50',
      STORE_MAX_DELAY_MS: '200',
      STORE_RETRY_MAX_MS: '200',
    });
  });
  afterEach(async () => {
    backend.down = false;
    await Promise.all(clients.splice(0).map((c) => c.close()));
  });
  afterAll(async () => {
    await server.close();
    await backend.stop();
  });

  it('announces saved to every member once the snapshot is written', async () => {
    const doc = randomDoc();
    const [writer, watcher] = await Promise.all([connect(), connect()]);
    for (const client of [writer, watcher]) {
      expect(await client.request({ type: 'join', doc })).toMatchObject({ seq: 0, savedSeq: 0 });
    }
    const seq = await edit(writer, doc, 1, 3);
    const [forWriter, forWatcher] = await Promise.all([
      writer.next(savedAt(seq)),
      watcher.next(savedAt(seq)),
    ]);
    expect(forWriter).toEqual({ type: 'saved', doc, seq });
    expect(forWatcher).toEqual({ type: 'saved', doc, seq });
    const stored = backend.documents.get(doc);
    expect(stored?.seq).toBe(seq);
    expect(stored?.state).toEqual((await readDoc(server.http, doc)).body.state);
  });

  it('keeps edits while the store is down, reports it, and catches up when it is back', async () => {
    const doc = randomDoc();
    const writer = await connect();
    await writer.request({ type: 'join', doc });
    const savedFirst = await edit(writer, doc, 1, 2);
    await writer.next(savedAt(savedFirst));

    backend.down = true;
    const latest = await edit(writer, doc, 3, 4);
    let health: { status: string; checks: Record<string, string> } | undefined;
    for (let i = 0; i < 100 && health?.status !== 'degraded'; i++) {
      const res = await fetch(`${server.http}/health`);
      expect(res.status).toBe(200);
      health = (await res.json()) as typeof health;
      if (health?.status !== 'degraded') await new Promise((r) => setTimeout(r, 50));
    }
    expect(health?.checks.documentStore).toMatch(/^degraded: .*503/);
    expect(backend.documents.get(doc)?.seq).toBe(savedFirst);
    const metrics = await (await fetch(`${server.http}/metrics`)).text();
    expect(metrics).toMatch(/^flow_store_pending_documents [1-9]/m);
    expect(metrics).toMatch(/^flow_store_save_failures_total [1-9]/m);

    backend.down = false;
    expect(await writer.next(savedAt(latest), 10_000)).toEqual({ type: 'saved', doc, seq: latest });
    const live = await readDoc(server.http, doc);
    expect(backend.documents.get(doc)).toEqual({
      epoch: live.body.epoch,
      seq: latest,
      state: live.body.state,
    });
    const after = (await (await fetch(`${server.http}/health`)).json()) as typeof health;
    expect(after?.checks.documentStore).toBe('ok');
  });

  it('refuses a join it cannot load and leaves the stored document as it was', async () => {
    const doc = randomDoc();
    const stored = { epoch: 'stored-epoch', seq: 7, state: { nodes: { a: { label: 'kept' } } } };
    backend.documents.set(doc, structuredClone(stored));
    backend.down = true;
    const client = await connect();
    const refused = await client.request({ type: 'join', doc });
    expect(refused).toMatchObject({ type: 'error', code: 'UNAVAILABLE', doc });
    const op = await client.request({ type: 'op', doc, cseq: 1, ops: [setNode('b', {})] });
    expect(op).toMatchObject({ type: 'error' });
    expect((await readDoc(server.http, doc)).status).toBe(503);
    expect(backend.documents.get(doc)).toEqual(stored);

    backend.down = false;
    const joined = await client.request({ type: 'join', doc });
    expect(joined).toMatchObject({ type: 'joined', ...stored, savedSeq: 7 });
    expect(await edit(client, doc, 1, 1)).toBe(8);
  });
});
