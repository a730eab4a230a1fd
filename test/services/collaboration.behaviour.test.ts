import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { applyMessage } from '../../src/document/apply-ops';
import pino from 'pino';
import type { DocState, JsonObject, JsonValue, Op } from '../../src/protocol';
import type { CollaborationService } from '../../src/services/collaboration/collaboration-service';
import {
  submitterKey,
  type ApplyOutcome,
  type OpSubmission,
} from '../../src/document/op-submission';
import { MemoryCollaborationService } from '../../src/services/collaboration/collaboration.memory';
import { createRedisCollaborationService } from '../../src/services/collaboration/collaboration.redis';
import { DEDUPE_WINDOW } from '../../src/services/collaboration/dedupe-bounds';
import { randomDocId, redisTestConfig, useRedisServers } from '../support/redis-harness';

/**
 * The behaviour of every CollaborationService, run against the memory
 * backend, a single Redis and a 3-master Redis Cluster.
 */

const servers = useRedisServers();

interface Options {
  historyLength?: number;
  ttlSeconds?: number;
  maxDocBytes?: number;
}

interface Subject {
  service: CollaborationService;
  /** Lets the TTL pass: every session idle since the last activity expires. */
  expire(): Promise<void>;
}

interface Backend {
  name: string;
  create(options: Options): Subject;
}

const quiet = pino({ level: 'silent' });

const memory: Backend = {
  name: 'memory',
  create({ historyLength = 1000, ttlSeconds = 0, maxDocBytes }) {
    let clock = 1_000_000;
    const service = new MemoryCollaborationService({
      historyLength,
      sessionTtlSeconds: ttlSeconds,
      ...(maxDocBytes === undefined ? {} : { maxDocBytes }),
      now: () => clock,
    });
    return {
      service,
      expire: async () => {
        clock += ttlSeconds * 1000 + 1;
        service.expireIdle();
      },
    };
  },
};

function redisBackend(name: string, target: () => Parameters<typeof redisTestConfig>[0]): Backend {
  return {
    name,
    create({ historyLength = 1000, ttlSeconds = 0, maxDocBytes }) {
      const config = redisTestConfig(target(), {
        HISTORY_LENGTH: String(historyLength),
        REDIS_SESSION_TTL: String(ttlSeconds),
      });
      const service = createRedisCollaborationService(
        config,
        quiet,
        maxDocBytes === undefined ? {} : { maxDocBytes },
      );
      return { service, expire: () => new Promise((r) => setTimeout(r, ttlSeconds * 1000 + 200)) };
    },
  };
}

const backends: Backend[] = [
  memory,
  redisBackend('redis', () => servers.addresses.single),
  redisBackend('redis cluster', () => servers.addresses.cluster),
];

// ---- helpers ----------------------------------------------------------------

const set = (coll: string, id: string, value: JsonObject): Op => ({ op: 'set', coll, id, value });
const patch = (coll: string, id: string, fields: JsonObject): Op => ({
  op: 'patch',
  coll,
  id,
  fields,
});
const del = (coll: string, id: string): Op => ({ op: 'del', coll, id });
const sub = (doc: string, client: string, cseq: number, ops: Op[], ref?: string): OpSubmission =>
  ref === undefined ? { doc, client, cseq, ops } : { doc, client, cseq, ops, ref };

/** The state as it travels in JSON (what clients see), for comparing backends. */
const asJson = (state: DocState): unknown => JSON.parse(JSON.stringify(state));

function replay(events: ReadonlyArray<{ ops: Op[] }>): DocState {
  const state: DocState = {};
  for (const event of events) expect(applyMessage(state, event.ops)).toBeUndefined();
  return state;
}

const summary = (outcomes: ApplyOutcome[]) =>
  outcomes.map((o) =>
    o.kind === 'rejected'
      ? { kind: o.kind, code: o.code, message: o.message }
      : { kind: o.kind, seq: o.seq },
  );

// ---- the suite ----------------------------------------------------------------

describe.each(backends)('CollaborationService ($name)', (backend) => {
  const opened: CollaborationService[] = [];
  const make = (options: Options = {}): Subject => {
    const subject = backend.create(options);
    opened.push(subject.service);
    return subject;
  };
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((s) => s.close()));
  });

  it('opens a new document at seq 0 with an epoch, and has no snapshot before', async () => {
    const { service } = make();
    const doc = randomDocId();
    expect(await service.snapshot(doc)).toBeNull();
    const first = await service.open(doc);
    expect(first.kind).toBe('snapshot');
    if (first.kind !== 'snapshot') return;
    expect(first.snapshot).toEqual({ doc, epoch: expect.any(String), seq: 0, state: {} });
    expect(first.snapshot.epoch.length).toBeGreaterThan(0);
    const again = await service.open(doc);
    expect(again.kind === 'snapshot' && again.snapshot.epoch).toBe(first.snapshot.epoch);
    expect(await service.snapshot(doc)).toEqual(first.snapshot);
  });

  it('drops a document nobody edited once asked, and keeps one with content or presence', async () => {
    const { service } = make();
    const blank = randomDocId();
    await service.open(blank);
    expect(await service.dropIfBlank(blank)).toBe(true);
    expect(await service.snapshot(blank)).toBeNull();
    // Never opened: nothing to drop.
    expect(await service.dropIfBlank(randomDocId())).toBe(false);

    const edited = randomDocId();
    await service.applyBatch(edited, [sub(edited, 'a', 1, [set('nodes', 'n1', { x: 1 })])]);
    expect(await service.dropIfBlank(edited)).toBe(false);
    expect((await service.snapshot(edited))?.seq).toBe(1);

    const present = randomDocId();
    await service.open(present);
    await service.setPresence(present, { client: 'c', user: null, state: { x: 1 }, node: 'n' });
    expect(await service.dropIfBlank(present)).toBe(false);
    expect((await service.snapshot(present))?.seq).toBe(0);
  });

  it("keeps dedupe records per user and client id: another user's same client id neither dedupes against nor silences the owner", async () => {
    const { service } = make();
    const doc = randomDocId();
    const as = (user: string, cseq: number, id: string): OpSubmission => ({
      ...sub(doc, 'laptop', cseq, [set('nodes', id, { n: cseq % 100 })]),
      user,
    });
    const first = await service.applyBatch(doc, [as('alice', 1, 'a1'), as('alice', 2, 'a2')]);
    expect(summary(first)).toEqual([
      { kind: 'applied', seq: 1 },
      { kind: 'applied', seq: 2 },
    ]);
    // mallory presents alice's client id: her cseq 1 is hers, not a resend of alice's.
    const taken = await service.applyBatch(doc, [
      as('mallory', 1, 'm1'),
      as('mallory', Number.MAX_SAFE_INTEGER, 'm2'),
    ]);
    expect(summary(taken)).toEqual([
      { kind: 'applied', seq: 3 },
      { kind: 'applied', seq: 4 },
    ]);
    // alice carries on: her next cseq is applied, her resend is answered with its real seq.
    const after = await service.applyBatch(doc, [as('alice', 3, 'a3'), as('alice', 2, 'a2')]);
    expect(summary(after)).toEqual([
      { kind: 'applied', seq: 5 },
      { kind: 'duplicate', seq: 2 },
    ]);
    // Outcomes and events name the client id only.
    expect(after[0]).toMatchObject({ client: 'laptop', cseq: 3 });
    const epoch = after[0]?.kind === 'applied' ? after[0].epoch : '';
    const events = (await service.eventsAfter(doc, epoch, 0)) ?? [];
    expect(events.map((e) => Object.keys(e).sort())).toEqual(
      events.map(() => ['client', 'cseq', 'ops', 'seq']),
    );
    expect(JSON.stringify(events)).not.toContain('alice');
    // Each user's fates come from its own records.
    expect(await service.findOps(doc, submitterKey('laptop', 'alice'), [2, 3])).toEqual([
      { kind: 'applied', epoch, seq: 2 },
      { kind: 'applied', epoch, seq: 5 },
    ]);
    expect(await service.findOps(doc, submitterKey('laptop', 'mallory'), [1])).toEqual([
      { kind: 'applied', epoch, seq: 3 },
    ]);
  });

  it('numbers accepted op messages 1, 2, 3 within and across batches', async () => {
    const { service } = make();
    const doc = randomDocId();
    const out1 = await service.applyBatch(doc, [
      sub(doc, 'a', 1, [set('nodes', 'n1', { x: 1 })], 'r1'),
      sub(doc, 'b', 1, [set('nodes', 'n2', { x: 2 })]),
    ]);
    const out2 = await service.applyBatch(doc, [
      sub(doc, 'a', 2, [patch('nodes', 'n1', { y: 'z' })]),
    ]);
    const epoch = out1[0]?.kind === 'applied' ? out1[0].epoch : '';
    expect(out1).toEqual([
      {
        kind: 'applied',
        doc,
        epoch,
        seq: 1,
        client: 'a',
        cseq: 1,
        ops: [set('nodes', 'n1', { x: 1 })],
        ref: 'r1',
      },
      {
        kind: 'applied',
        doc,
        epoch,
        seq: 2,
        client: 'b',
        cseq: 1,
        ops: [set('nodes', 'n2', { x: 2 })],
      },
    ]);
    expect(out2).toEqual([
      {
        kind: 'applied',
        doc,
        epoch,
        seq: 3,
        client: 'a',
        cseq: 2,
        ops: [patch('nodes', 'n1', { y: 'z' })],
      },
    ]);
    const snap = await service.snapshot(doc);
    expect(snap).toEqual({
      doc,
      epoch,
      seq: 3,
      state: { nodes: { n1: { x: 1, y: 'z' }, n2: { x: 2 } } },
    });
  });

  it('answers a resend with its seq, an unknown older cseq with null, and applies neither again', async () => {
    const { service } = make();
    const doc = randomDocId();
    await service.applyBatch(doc, [
      sub(doc, 'a', 5, [set('c', 'i', { v: 1 })]),
      sub(doc, 'a', 7, [set('c', 'i', { v: 2 })]),
    ]);
    const out = await service.applyBatch(doc, [
      sub(doc, 'a', 7, [set('c', 'i', { v: 99 })], 'again'),
      sub(doc, 'a', 5, [set('c', 'i', { v: 98 })]),
      sub(doc, 'a', 6, [set('c', 'i', { v: 97 })]),
      sub(doc, 'a', 8, [set('c', 'i', { v: 3 })]),
      sub(doc, 'a', 8, [set('c', 'i', { v: 96 })]),
    ]);
    expect(out.map((o) => [o.kind, o.kind === 'rejected' ? null : o.seq, o.cseq])).toEqual([
      ['duplicate', 2, 7],
      ['duplicate', 1, 5],
      ['duplicate', null, 6],
      ['applied', 3, 8],
      ['duplicate', 3, 8],
    ]);
    expect(out[0]).toMatchObject({ kind: 'duplicate', ref: 'again', epoch: expect.any(String) });
    const snap = await service.snapshot(doc);
    expect(snap?.seq).toBe(3);
    expect(snap?.state).toEqual({ c: { i: { v: 3 } } });
  });

  it('tells what became of an op: applied with its seq, skipped, pending, or too old to tell', async () => {
    const { service } = make({ historyLength: 2 });
    const doc = randomDocId();
    expect(await service.findOps(doc, 'a', [1])).toEqual([{ kind: 'pending' }]);
    await service.applyBatch(doc, [
      sub(doc, 'a', 5, [set('c', 'i', { v: 1 })]),
      sub(doc, 'a', 7, [set('c', 'i', { v: 2 })]),
    ]);
    const epoch = (await service.snapshot(doc))?.epoch;
    expect(await service.findOps(doc, 'a', [5])).toEqual([{ kind: 'applied', epoch, seq: 1 }]);
    expect(await service.findOps(doc, 'a', [7])).toEqual([{ kind: 'applied', epoch, seq: 2 }]);
    expect(await service.findOps(doc, 'a', [6])).toEqual([{ kind: 'not-applied', epoch }]);
    expect(await service.findOps(doc, 'a', [8])).toEqual([{ kind: 'pending' }]);
    expect(await service.findOps(doc, 'b', [1])).toEqual([{ kind: 'pending' }]);
    // Others push a's events out of the history: an op below a's last is no longer told apart.
    for (let cseq = 1; cseq <= 6; cseq++)
      await service.applyBatch(doc, [sub(doc, 'b', cseq, [set('c', 'j', { v: cseq })])]);
    expect(await service.findOps(doc, 'a', [6])).toEqual([{ kind: 'forgotten', epoch }]);
    expect(await service.findOps(doc, 'a', [7])).toEqual([{ kind: 'applied', epoch, seq: 2 }]);
    // Out of the history but inside the client's dedupe window: still told with its seq.
    expect(await service.findOps(doc, 'a', [5])).toEqual([{ kind: 'applied', epoch, seq: 1 }]);
  });

  it('keeps a resend inside the dedupe window a duplicate with its seq, and accounts size as before', async () => {
    const { service } = make({ maxDocBytes: 400 });
    const doc = randomDocId();
    const total = DEDUPE_WINDOW + 8;
    const batch = Array.from({ length: total }, (_, i) =>
      sub(doc, 'a', i + 1, [set('c', 'i', { v: i + 1 })]),
    );
    await service.applyBatch(doc, batch);
    const [recent, old, big] = await service.applyBatch(doc, [
      sub(doc, 'a', total - 3, [set('c', 'i', { v: 0 })]),
      sub(doc, 'a', 2, [set('c', 'i', { v: 0 })]),
      sub(doc, 'a', total + 1, [set('c', 'big', { v: 'x'.repeat(500) })]),
    ]);
    expect(recent).toMatchObject({ kind: 'duplicate', seq: total - 3 });
    expect(old).toMatchObject({ kind: 'duplicate', seq: null });
    expect(big).toMatchObject({ kind: 'rejected', code: 'TOO_LARGE' });
    const snap = await service.snapshot(doc);
    expect(snap?.seq).toBe(total);
    expect(snap?.state).toEqual({ c: { i: { v: total } } });
  });

  it('rejects a message whose patch would make an entity too big, and changes nothing for it', async () => {
    const { service } = make();
    const doc = randomDocId();
    const big = 'x'.repeat(9000);
    await service.applyBatch(doc, [
      sub(doc, 'a', 1, [set('nodes', 'n1', { a: big }), set('nodes', 'n2', { k: 1 })]),
    ]);
    const before = await service.snapshot(doc);
    const out = await service.applyBatch(doc, [
      sub(
        doc,
        'a',
        2,
        [del('nodes', 'n2'), set('edges', 'e1', { f: 1 }), patch('nodes', 'n1', { b: big })],
        'big',
      ),
      sub(doc, 'a', 3, [patch('nodes', 'n1', { b: 'small', a: null })]),
    ]);
    expect(out[0]).toEqual({
      kind: 'rejected',
      doc,
      client: 'a',
      cseq: 2,
      code: 'BAD_REQUEST',
      message: expect.stringMatching(
        /^ops\[2\] would make nodes\/n1 too big: an entity may be at most 16384 bytes of JSON; this one is 18\d\d\d$/,
      ),
      ref: 'big',
    });
    expect(out[1]).toMatchObject({ kind: 'applied', seq: 2 });
    const after = await service.snapshot(doc);
    expect(after?.state).toEqual({ ...before?.state, nodes: { n1: { b: 'small' }, n2: { k: 1 } } });
    // The refused cseq was not recorded: it is not a duplicate of anything.
    const retry = await service.applyBatch(doc, [
      sub(doc, 'b', 1, [patch('nodes', 'n1', { deep: nestedObject(32) })]),
    ]);
    expect(retry[0]).toMatchObject({
      kind: 'rejected',
      message: expect.stringMatching(/at most 32 levels deep/),
    });
  });

  it('returns the events after a seq, null for another epoch, a future seq or a trimmed history', async () => {
    const { service } = make({ historyLength: 3 });
    const doc = randomDocId();
    const opened = await service.open(doc);
    const epoch = opened.kind === 'snapshot' ? opened.snapshot.epoch : '';
    for (let cseq = 1; cseq <= 10; cseq++) {
      await service.applyBatch(doc, [sub(doc, 'a', cseq, [set('c', `i${cseq}`, { n: cseq })])]);
    }
    const after7 = await service.eventsAfter(doc, epoch, 7);
    expect(after7).toEqual(
      [8, 9, 10].map((n) => ({ seq: n, client: 'a', cseq: n, ops: [set('c', `i${n}`, { n })] })),
    );
    expect(await service.eventsAfter(doc, epoch, 10)).toEqual([]);
    expect(await service.eventsAfter(doc, epoch, 11)).toBeNull();
    expect(await service.eventsAfter(doc, epoch, 1)).toBeNull();
    expect(await service.eventsAfter(doc, 'another-epoch', 7)).toBeNull();
    expect(await service.eventsAfter(randomDocId(), epoch, 0)).toBeNull();

    const resumed = await service.open(doc, { epoch, seq: 8 });
    expect(resumed).toEqual({ kind: 'events', epoch, seq: 10, events: after7?.slice(1) });
    for (const resume of [
      { epoch, seq: 1 },
      { epoch, seq: 12 },
      { epoch: 'old', seq: 9 },
    ]) {
      const answer = await service.open(doc, resume);
      expect(answer.kind).toBe('snapshot');
      expect(answer.kind === 'snapshot' && answer.snapshot.seq).toBe(10);
    }
  });

  it('keeps a snapshot equal to its events replayed with apply-ops', async () => {
    const { service } = make();
    const doc = randomDocId();
    const messages: Op[][] = [
      [
        set('nodes', 'n1', { x: 1, tags: ['a', { b: [] }], nested: { empty: {} } }),
        set('nodes', 'n2', { x: 2 }),
      ],
      [patch('nodes', 'n1', { x: 1.5, label: 'Start ✓ "quoted" \\ / \u2028', tags: null })],
      [set('edges', 'e1', { from: 'n1', to: 'n2' }), patch('edges', 'missing', { a: 1 })],
      [
        del('nodes', 'n2'),
        del('nodes', 'absent'),
        patch('nodes', 'n1', { '0': 0, '10': 10, big: 9007199254740991 }),
      ],
      [del('edges', 'e1')],
      [set('toString', 'valueOf', { constructor: 'no' })],
    ];
    let cseq = 0;
    for (const ops of messages) await service.applyBatch(doc, [sub(doc, 'w', ++cseq, ops)]);
    const snap = await service.snapshot(doc);
    const opened = await service.open(doc);
    const events = await service.eventsAfter(doc, snap?.epoch ?? '', 0);
    expect(events?.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(snap?.state).toEqual(replay(events ?? []));
    expect(opened.kind === 'snapshot' && opened.snapshot).toEqual(snap);
    expect(snap?.state).toEqual({
      nodes: {
        n1: {
          x: 1.5,
          nested: { empty: {} },
          label: 'Start ✓ "quoted" \\ / \u2028',
          '0': 0,
          '10': 10,
          big: 9007199254740991,
        },
      },
      toString: { valueOf: { constructor: 'no' } },
    });
  });

  it('sets, lists and clears presence', async () => {
    const { service } = make();
    const doc = randomDocId();
    await service.open(doc);
    expect(await service.listPresence(doc)).toEqual([]);
    await service.setPresence(doc, {
      client: 'a',
      user: 'ann',
      state: { cursor: [1, 2] },
      node: 'gw-1',
    });
    await service.setPresence(doc, { client: 'b', user: null, state: {}, node: 'gw-2' });
    await service.setPresence(doc, {
      client: 'a',
      user: 'ann',
      state: { cursor: [3, 4] },
      node: 'gw-1',
    });
    const byClient = (list: Array<{ client: string }>) =>
      [...list].sort((x, y) => x.client.localeCompare(y.client));
    expect(byClient(await service.listPresence(doc))).toEqual([
      { client: 'a', user: 'ann', state: { cursor: [3, 4] }, node: 'gw-1' },
      { client: 'b', user: null, state: {}, node: 'gw-2' },
    ]);
    await service.clearPresence(doc, 'a');
    await service.clearPresence(doc, 'nobody');
    expect(await service.listPresence(doc)).toEqual([
      { client: 'b', user: null, state: {}, node: 'gw-2' },
    ]);
    expect(await service.listPresence(randomDocId())).toEqual([]);
  });

  it('starts a new epoch at seq 0 once an idle session expired', async () => {
    const { service, expire } = make({ ttlSeconds: 1 });
    const doc = randomDocId();
    const [applied] = await service.applyBatch(doc, [sub(doc, 'a', 1, [set('c', 'i', { v: 1 })])]);
    const oldEpoch = applied?.kind === 'applied' ? applied.epoch : '';
    await expire();
    expect(await service.snapshot(doc)).toBeNull();
    expect(await service.eventsAfter(doc, oldEpoch, 0)).toBeNull();
    const reopened = await service.open(doc, { epoch: oldEpoch, seq: 1 });
    expect(reopened.kind).toBe('snapshot');
    if (reopened.kind !== 'snapshot') return;
    expect(reopened.snapshot).toMatchObject({ seq: 0, state: {} });
    expect(reopened.snapshot.epoch).not.toBe(oldEpoch);
    // The dedupe records went with the history: cseq 1 is new in the new epoch.
    const [again] = await service.applyBatch(doc, [sub(doc, 'a', 1, [set('c', 'i', { v: 2 })])]);
    expect(again).toMatchObject({ kind: 'applied', seq: 1, epoch: reopened.snapshot.epoch });
  });

  // Memory is the reference here, so the property only runs against Redis.
  if (backend !== memory) {
    it('reaches the state of the memory backend for any op messages', async () => {
      const { service } = make({ historyLength: 50 });
      await fc.assert(
        fc.asyncProperty(batchesArb, async (batches) => {
          const doc = randomDocId('prop');
          const reference = memory.create({ historyLength: 50 }).service;
          // Mostly increasing cseqs per client, with resends and stale ones among them.
          const last = new Map<string, number>();
          for (const batch of batches) {
            const submissions = batch.map((m) => {
              const cseq = Math.max(1, (last.get(m.client) ?? 0) + m.step);
              last.set(m.client, cseq);
              return sub(doc, m.client, cseq, m.ops);
            });
            const [expected, actual] = await Promise.all([
              reference.applyBatch(doc, submissions),
              service.applyBatch(doc, submissions),
            ]);
            expect(summary(actual)).toEqual(summary(expected));
          }
          const [expected, actual] = await Promise.all([
            reference.snapshot(doc),
            service.snapshot(doc),
          ]);
          expect(asJson(actual?.state ?? {})).toEqual(asJson(expected?.state ?? {}));
          expect(actual?.seq).toBe(expected?.seq);
          const events = await service.eventsAfter(doc, actual?.epoch ?? '', 0);
          expect(asJson(replay(events ?? []))).toEqual(asJson(actual?.state ?? {}));
          await reference.close();
        }),
        // FLOW_PROPERTY_RUNS=1000 for a deeper search (1500 runs pass in about 4 s per backend).
        { numRuns: Number(process.env.FLOW_PROPERTY_RUNS ?? 15) },
      );
    });
  }
});

// ---- generators -----------------------------------------------------------------

function nestedObject(levels: number): JsonObject {
  let value: JsonObject = {};
  for (let i = 1; i < levels; i++) value = { a: value };
  return value;
}

const keyArb = fc.constantFrom('x', 'y', 'label', 'tags', '0', '7', 'ключ', 'a"b', 'emoji😀');
const scalarArb: fc.Arbitrary<JsonValue> = fc.oneof(
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((n) => (Object.is(n, -0) ? 0 : n)),
  fc.constantFrom(9007199254740991, 1e21, 5e-324, 0.30000000000000004),
  fc.boolean(),
  fc.string({ unit: 'binary', maxLength: 12 }),
  fc.constant('x'.repeat(6000)),
  fc.constant('y'.repeat(6000)),
);
const valueArb: fc.Arbitrary<JsonValue> = fc.letrec<{ value: JsonValue }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    scalarArb,
    fc.array(tie('value'), { maxLength: 3 }),
    fc.dictionary(keyArb, tie('value'), { maxKeys: 3 }),
  ),
})).value;
const entityArb = fc.dictionary(keyArb, valueArb, { maxKeys: 4 });
const fieldsArb = fc.dictionary(keyArb, fc.oneof(valueArb, fc.constant(null)), { maxKeys: 4 });
const collArb = fc.constantFrom('nodes', 'edges');
const idArb = fc.constantFrom('n1', 'n2', 'n3');
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constant('set' as const), coll: collArb, id: idArb, value: entityArb }),
  fc.record({ op: fc.constant('patch' as const), coll: collArb, id: idArb, fields: fieldsArb }),
  fc.record({ op: fc.constant('del' as const), coll: collArb, id: idArb }),
);
const messageArb = fc.record({
  client: fc.constantFrom('a', 'b'),
  step: fc.constantFrom(1, 1, 1, 1, 2, 0, -1),
  ops: fc.array(opArb, { minLength: 1, maxLength: 4 }),
});
const batchesArb = fc.array(fc.array(messageArb, { minLength: 1, maxLength: 4 }), {
  minLength: 1,
  maxLength: 5,
});
