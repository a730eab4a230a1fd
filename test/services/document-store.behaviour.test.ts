import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configFrom } from '../../src/config';
import {
  createDocumentStore,
  type DocumentStore,
  type StoredSnapshot,
} from '../../src/services/document-store';
import { HttpDocumentStore } from '../../src/services/document-store/document-store.http';
import { openPostgresStore } from '../../src/services/document-store/document-store.postgres';
import { DocumentBackend } from '../support/document-backend';
import { startPostgres, type StartedPostgres } from '../support/postgres-harness';
import { freePort } from '../support/redis-processes';

const log = pino({ level: 'silent' });

/** One backend of the suite: opens a store through the factory, and one that cannot answer. */
interface Backend {
  name: string;
  open(): Promise<DocumentStore>;
  /** A store whose backend is unreachable (a server that is not there). */
  broken?(): Promise<DocumentStore>;
  cleanup(): Promise<void>;
}

function embedded(): Backend {
  let dir = '';
  return {
    name: 'embedded (PGlite)',
    async open() {
      dir = await mkdtemp(path.join(os.tmpdir(), 'flow-store-'));
      const config = configFrom({ DOCUMENT_STORE: `file:${path.join(dir, 'documents')}` });
      return (await createDocumentStore(config, log, { severalProcesses: false }))!;
    },
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

function postgres(): Backend {
  let server: StartedPostgres | undefined;
  return {
    name: 'PostgreSQL',
    async open() {
      server = await startPostgres();
      const config = configFrom({ DOCUMENT_STORE: server.url, DOCUMENT_STORE_MIGRATE: 'true' });
      return (await createDocumentStore(config, log, { severalProcesses: true }))!;
    },
    async broken() {
      const url = `postgres://flow@127.0.0.1:${await freePort(false)}/flow`;
      return openPostgresStore({ url, poolSize: 2, timeoutMs: 2000 }).store;
    },
    cleanup: async () => server?.stop(),
  };
}

function httpBackend(): Backend {
  let backend: DocumentBackend | undefined;
  return {
    name: 'HTTP',
    async open() {
      backend = await DocumentBackend.start('s3cret');
      const config = configFrom({
        DOCUMENT_STORE: backend.url,
        DOCUMENT_STORE_SECRET: 's3cret',
        NODE_ENV: 'test',
      });
      return (await createDocumentStore(config, log, { severalProcesses: true }))!;
    },
    async broken() {
      const url = `http://127.0.0.1:${await freePort(false)}/docs`;
      const backoff = { initialMs: 10, maxMs: 20 };
      return new HttpDocumentStore({ url, secret: 's', timeoutMs: 1000, retries: 1, backoff });
    },
    cleanup: async () => backend?.stop(),
  };
}

const docId = (label: string) => `${label}-${randomBytes(6).toString('hex')}`;
const snapshot = (seq: number, epoch = 'ep-1'): StoredSnapshot => ({
  epoch,
  seq,
  state: { nodes: { n1: { label: `at ${seq}`, pos: { x: seq, y: -1.5 }, tags: ['a', 'ü'] } } },
});

describe.each([embedded(), postgres(), httpBackend()])('document store: $name', (backend) => {
  let store: DocumentStore;

  beforeAll(async () => {
    store = await backend.open();
  }, 120_000);

  afterAll(async () => {
    await store?.close();
    await backend.cleanup();
  });

  it('answers null for a document it never held', async () => {
    await expect(store.load(docId('new'))).resolves.toBeNull();
  });

  it('gives back the snapshot it stored', async () => {
    const doc = docId('round-trip');
    await expect(store.save(doc, snapshot(7))).resolves.toBe(true);
    await expect(store.load(doc)).resolves.toEqual(snapshot(7));
  });

  it('keeps a document id with any characters apart from the others', async () => {
    const odd = `${docId('odd')} / ?#%&é..`;
    const plain = docId('plain');
    await store.save(odd, snapshot(1));
    await store.save(plain, snapshot(2));
    expect((await store.load(odd))?.seq).toBe(1);
    expect((await store.load(plain))?.seq).toBe(2);
  });

  it('replaces a snapshot only with a newer seq', async () => {
    const doc = docId('conditional');
    await expect(store.save(doc, snapshot(5))).resolves.toBe(true);
    await expect(store.save(doc, snapshot(5))).resolves.toBe(false);
    await expect(store.save(doc, snapshot(3, 'ep-old'))).resolves.toBe(false);
    await expect(store.load(doc)).resolves.toEqual(snapshot(5));
    await expect(store.save(doc, snapshot(6))).resolves.toBe(true);
    await expect(store.load(doc)).resolves.toEqual(snapshot(6));
  });

  it('stores many snapshots at once, each only over an older one (where it can batch)', async () => {
    if (!store.saveMany) return expect(store.kind).toBe('http');
    const older = docId('many-older');
    const newer = docId('many-newer');
    const fresh = Array.from({ length: 50 }, (_, i) => docId(`many-${i}`));
    await store.save(older, snapshot(2));
    await store.save(newer, snapshot(9));
    await store.saveMany([
      { doc: older, snapshot: snapshot(4) },
      { doc: newer, snapshot: snapshot(3, 'ep-old') },
      ...fresh.map((doc, i) => ({ doc, snapshot: snapshot(i + 1) })),
    ]);
    await expect(store.load(older)).resolves.toEqual(snapshot(4));
    await expect(store.load(newer)).resolves.toEqual(snapshot(9));
    for (const [i, doc] of fresh.entries())
      await expect(store.load(doc)).resolves.toEqual(snapshot(i + 1));
  });

  it('never replaces a newer snapshot, whatever order concurrent writes arrive in', async () => {
    const doc = docId('race');
    const seqs = Array.from({ length: 20 }, (_, i) => i + 1).sort(() => Math.random() - 0.5);
    const written = await Promise.all(seqs.map((seq) => store.save(doc, snapshot(seq))));
    expect(written.filter(Boolean).length).toBeGreaterThanOrEqual(1);
    await expect(store.load(doc)).resolves.toEqual(snapshot(20));
  });

  it('reports itself healthy while it answers', async () => {
    await expect(store.health()).resolves.toEqual({ ok: true });
  });

  if (backend.broken) {
    const openBroken = backend.broken;
    it('rejects a load it cannot answer instead of calling the document new', async () => {
      const broken = await openBroken();
      try {
        await expect(broken.load(docId('unreachable'))).rejects.toThrow();
        await expect(broken.save(docId('unreachable'), snapshot(1))).rejects.toThrow();
        const health = await broken.health();
        expect(health.ok).toBe(false);
      } finally {
        await broken.close();
      }
    });
  }

  // Last: it closes the suite's store (afterAll closes it once more).
  it('closes idempotently, and refuses work once closed', async () => {
    await store.close();
    await store.close();
    await expect(store.load(docId('closed'))).rejects.toThrow(/closed/);
    await expect(store.save(docId('closed'), snapshot(1))).rejects.toThrow(/closed/);
  });
});
