import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryCollaborationService } from '../../src/services/collaboration/collaboration.memory';
import type { DocumentStore } from '../../src/services/document-store';
import { openEmbeddedStore } from '../../src/services/document-store/document-store.embedded';
import { migrate } from '../../src/services/document-store/migrations';
import { randomDoc } from '../support/test-server';

const TTL_SECONDS = 60;

/** Applies one op setting node `id` of `doc`. */
const setNode = (doc: string, cseq: number) => ({
  doc,
  client: 'writer',
  cseq,
  ops: [{ op: 'set' as const, coll: 'nodes', id: `n${cseq}`, value: { cseq } }],
});

describe('the in-memory collaboration service with a document store', () => {
  let dir: string;
  let store: DocumentStore;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'flow-memory-store-'));
    const opened = await openEmbeddedStore(path.join(dir, 'documents'));
    await migrate(opened.client);
    store = opened.store;
  }, 60_000);
  afterAll(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  function service(unsaved: Set<string>, clock: { now: number }) {
    return new MemoryCollaborationService({
      historyLength: 10,
      sessionTtlSeconds: TTL_SECONDS,
      now: () => clock.now,
      load: (doc) => store.load(doc),
      keep: (doc) => unsaved.has(doc),
    });
  }

  it('keeps an idle document with unsaved edits, drops it once stored, and reopens it from the store', async () => {
    const clock = { now: 1_000_000 };
    const unsaved = new Set<string>();
    const collaboration = service(unsaved, clock);
    const doc = randomDoc();
    await collaboration.open(doc);
    await collaboration.applyBatch(doc, [setNode(doc, 1), setNode(doc, 2)]);
    unsaved.add(doc);

    clock.now += (TTL_SECONDS + 1) * 1000;
    collaboration.expireIdle();
    const kept = await collaboration.snapshot(doc);
    expect(kept?.seq).toBe(2);

    await store.save(doc, { epoch: kept!.epoch, seq: kept!.seq, state: kept!.state });
    collaboration.recordSaved(doc, 2);
    unsaved.delete(doc);
    clock.now += (TTL_SECONDS + 1) * 1000;
    collaboration.expireIdle();

    const reopened = await collaboration.open(doc);
    expect(reopened).toEqual({ kind: 'snapshot', snapshot: kept, savedSeq: 2 });
    const [next] = await collaboration.applyBatch(doc, [setNode(doc, 3)]);
    expect(next).toMatchObject({ kind: 'applied', epoch: kept!.epoch, seq: 3 });
    await collaboration.close();
  });

  it('answers UNAVAILABLE when the store cannot be read, and starts nothing', async () => {
    const clock = { now: 1_000_000 };
    const broken = await openEmbeddedStore(path.join(dir, 'closed'));
    await broken.store.close();
    const collaboration = new MemoryCollaborationService({
      historyLength: 10,
      sessionTtlSeconds: TTL_SECONDS,
      now: () => clock.now,
      load: (doc) => broken.store.load(doc),
      keep: () => false,
    });
    const doc = randomDoc();
    await expect(collaboration.open(doc)).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    await expect(collaboration.applyBatch(doc, [setNode(doc, 1)])).rejects.toMatchObject({
      code: 'UNAVAILABLE',
    });
    await expect(collaboration.eventsAfter(doc, 'any', 0)).resolves.toBeNull();
    await collaboration.close();
  }, 60_000);
});
