import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { OpSubmission } from '../../src/document/op-submission';
import type { StoredSnapshot } from '../../src/document/stored-snapshot';
import { MemoryCollaborationService } from '../../src/services/collaboration/collaboration.memory';
import { createRedisCollaborationService } from '../../src/services/collaboration/collaboration.redis';
import type { CollaborationService } from '../../src/services/collaboration/collaboration-service';
import { randomDocId, redisTestConfig, useRedisServers } from '../support/redis-harness';

/**
 * What every CollaborationService does with a document store behind it
 * (its `load`): documents it lacks are loaded, never started empty over a
 * stored one; edits not yet stored outlive the TTL; savedSeq is kept and
 * reported. Run against memory, a single Redis and a 3-master Redis Cluster.
 * The store here is a Map: the stores themselves have their own suite.
 */

const servers = useRedisServers();
const quiet = pino({ level: 'silent' });
const TTL_SECONDS = 1;

/** A store held in a Map that can be made to fail. */
class MapStore {
  readonly documents = new Map<string, StoredSnapshot>();
  broken = false;
  loads = 0;
  async load(doc: string): Promise<StoredSnapshot | null> {
    this.loads++;
    if (this.broken) throw new Error('connect ECONNREFUSED 127.0.0.1:5432');
    return this.documents.get(doc) ?? null;
  }
}

interface Subject {
  service: CollaborationService;
  /** Lets the TTL pass: every idle session with nothing unsaved expires. */
  expire(): Promise<void>;
}

interface Backend {
  name: string;
  /** Documents in Redis: several services (processes) can share them. */
  redis: boolean;
  create(store: MapStore, owner: string): Subject;
}

const memory: Backend = {
  name: 'memory',
  redis: false,
  create(store) {
    let clock = 1_000_000;
    const service = new MemoryCollaborationService({
      historyLength: 100,
      sessionTtlSeconds: TTL_SECONDS,
      now: () => clock,
      load: (doc) => store.load(doc),
    });
    return {
      service,
      expire: async () => {
        clock += TTL_SECONDS * 1000 + 1;
        service.expireIdle();
      },
    };
  },
};

/** One key prefix per backend: services made for one test share their documents. */
function redisBackend(name: string, target: () => Parameters<typeof redisTestConfig>[0]): Backend {
  let prefix: string | undefined;
  return {
    name,
    redis: true,
    create(store, owner) {
      const config = redisTestConfig(target(), {
        HISTORY_LENGTH: '100',
        REDIS_SESSION_TTL: String(TTL_SECONDS),
        ...(prefix ? { REDIS_KEY_PREFIX: prefix } : {}),
      });
      prefix = config.redis.keyPrefix;
      const service = createRedisCollaborationService(config, quiet, {
        durable: { load: (doc) => store.load(doc), owner },
      });
      return { service, expire: () => new Promise((r) => setTimeout(r, TTL_SECONDS * 1000 + 300)) };
    },
  };
}

const backends: Backend[] = [
  memory,
  redisBackend('redis', () => servers.addresses.single),
  redisBackend('redis cluster', () => servers.addresses.cluster),
];

const edit = (doc: string, cseq: number): OpSubmission => ({
  doc,
  client: 'writer',
  cseq,
  ops: [{ op: 'set', coll: 'nodes', id: `n${cseq}`, value: { cseq } }],
});

const stored = (seq: number): StoredSnapshot => ({
  epoch: 'stored-epoch',
  seq,
  state: { nodes: { kept: { label: 'from the store', seq } } },
});

describe.each(backends)('CollaborationService with a document store ($name)', (backend) => {
  const opened: CollaborationService[] = [];
  const make = (store: MapStore, owner = 'process-a'): Subject => {
    const subject = backend.create(store, owner);
    opened.push(subject.service);
    return subject;
  };
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((s) => s.close()));
  });

  it('opens a stored document at its stored epoch and seq, and goes on from there', async () => {
    const store = new MapStore();
    const doc = randomDocId('stored');
    store.documents.set(doc, stored(41));
    const { service } = make(store);

    const opened = await service.open(doc);
    expect(opened).toEqual({
      kind: 'snapshot',
      snapshot: { doc, ...stored(41) },
      savedSeq: 41,
    });
    const [outcome] = await service.applyBatch(doc, [edit(doc, 1)]);
    expect(outcome).toMatchObject({ kind: 'applied', epoch: 'stored-epoch', seq: 42 });
    const again = await service.open(doc, { epoch: 'stored-epoch', seq: 41 });
    expect(again).toMatchObject({ kind: 'events', seq: 42, savedSeq: 41 });
  });

  it('loads a stored document on its first op too, never starting it empty', async () => {
    const store = new MapStore();
    const doc = randomDocId('first-op');
    store.documents.set(doc, stored(7));
    const { service } = make(store);
    const [outcome] = await service.applyBatch(doc, [edit(doc, 1)]);
    expect(outcome).toMatchObject({ kind: 'applied', epoch: 'stored-epoch', seq: 8 });
    const snapshot = await service.snapshot(doc);
    expect(snapshot?.state.nodes).toMatchObject({ kept: { seq: 7 }, n1: { cseq: 1 } });
  });

  it('starts a document the store does not have at seq 0, with savedSeq 0', async () => {
    const store = new MapStore();
    const doc = randomDocId('new');
    const { service } = make(store);
    expect(await service.snapshot(doc)).toBeNull();
    const opened = await service.open(doc);
    expect(opened).toMatchObject({
      kind: 'snapshot',
      snapshot: { seq: 0, state: {} },
      savedSeq: 0,
    });
  });

  it('answers UNAVAILABLE while the store cannot be read, creates nothing, and loads it once it can', async () => {
    const store = new MapStore();
    const doc = randomDocId('broken');
    store.documents.set(doc, stored(5));
    store.broken = true;
    const { service } = make(store);
    await expect(service.open(doc)).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    await expect(service.applyBatch(doc, [edit(doc, 1)])).rejects.toMatchObject({
      code: 'UNAVAILABLE',
    });
    await expect(service.snapshot(doc)).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    store.broken = false;
    const [outcome] = await service.applyBatch(doc, [edit(doc, 1)]);
    expect(outcome).toMatchObject({ kind: 'applied', epoch: 'stored-epoch', seq: 6 });
  });

  it('keeps edits the store lacks past the TTL, and lets the document expire once they are stored', async () => {
    const store = new MapStore();
    const doc = randomDocId('unsaved');
    const { service, expire } = make(store);
    await service.open(doc);
    const [first] = await service.applyBatch(doc, [edit(doc, 1), edit(doc, 2)]);
    const epoch = first?.kind === 'applied' ? first.epoch : '';

    await expire();
    const kept = await service.snapshot(doc);
    expect(kept?.seq).toBe(2);

    const read = await service.readForSave(doc);
    expect(read).toEqual({ kind: 'snapshot', snapshot: { epoch, seq: 2, state: kept!.state } });
    store.documents.set(doc, { epoch, seq: 2, state: kept!.state });
    await service.recordSaved(doc, 2, epoch);
    expect(await service.readForSave(doc)).toEqual({ kind: 'stored', seq: 2 });
    expect(await service.open(doc)).toMatchObject({ savedSeq: 2 });

    const loadsBefore = store.loads;
    await expire();
    const reopened = await service.open(doc);
    expect(store.loads).toBe(loadsBefore + 1);
    expect(reopened).toEqual({
      kind: 'snapshot',
      snapshot: { doc, epoch, seq: 2, state: kept!.state },
      savedSeq: 2,
    });
  });

  it('ignores a save recorded for another epoch or beyond the seq', async () => {
    const store = new MapStore();
    const doc = randomDocId('stale-save');
    const { service } = make(store);
    const [applied] = await service.applyBatch(doc, [edit(doc, 1)]);
    const epoch = applied?.kind === 'applied' ? applied.epoch : '';
    await service.recordSaved(doc, 1, 'some-other-epoch');
    expect(await service.open(doc)).toMatchObject({ savedSeq: 0 });
    await service.recordSaved(doc, 9, epoch);
    expect(await service.open(doc)).toMatchObject({ savedSeq: 1 });
  });
});

describe.each(backends.filter((b) => b.redis))(
  'documents in Redis shared by processes ($name)',
  (backend) => {
    const opened: CollaborationService[] = [];
    const make = (store: MapStore, owner: string): Subject => {
      const subject = backend.create(store, owner);
      opened.push(subject.service);
      return subject;
    };
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((s) => s.close()));
    });

    it('lets one process at a time write a document (the saver lease)', async () => {
      const store = new MapStore();
      const doc = randomDocId('lease');
      const a = make(store, 'process-a').service;
      const b = make(store, 'process-b').service;
      const [applied] = await a.applyBatch(doc, [edit(doc, 1)]);
      const epoch = applied?.kind === 'applied' ? applied.epoch : '';

      expect(await a.readForSave(doc)).toMatchObject({ kind: 'snapshot' });
      expect(await b.readForSave(doc)).toEqual({ kind: 'busy' });
      // The holder reads again (a retry) without waiting for its own lease.
      expect(await a.readForSave(doc)).toMatchObject({ kind: 'snapshot' });
      await a.recordSaved(doc, 1, epoch);
      expect(await b.readForSave(doc)).toEqual({ kind: 'stored', seq: 1 });

      await b.applyBatch(doc, [edit(doc, 2)]);
      expect(await b.readForSave(doc)).toMatchObject({ kind: 'snapshot', snapshot: { seq: 2 } });
      expect(await a.readForSave(doc)).toEqual({ kind: 'busy' });
    });
  },
);
