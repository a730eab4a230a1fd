import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  applyMessage,
  applyOp,
  applyOps,
  cloneState,
  emptyState,
  patched,
} from '../../src/document/apply-ops';
import { entityProblem, MAX_ENTITY_BYTES, MAX_ENTITY_DEPTH } from '../../src/protocol';
import type { DocState, JsonObject, JsonValue, Op } from '../../src/protocol';

// ---- helpers ----------------------------------------------------------------

const set = (coll: string, id: string, value: JsonObject): Op => ({ op: 'set', coll, id, value });
const patch = (coll: string, id: string, fields: JsonObject): Op => ({
  op: 'patch',
  coll,
  id,
  fields,
});
const del = (coll: string, id: string): Op => ({ op: 'del', coll, id });

function after(state: DocState, ...ops: Op[]): DocState {
  const next = cloneState(state);
  applyOps(next, ops);
  return next;
}

/** `{"s":"xxx..."}` whose JSON is exactly `bytes` bytes. */
function sized(bytes: number, key = 's'): JsonObject {
  return { [key]: 'x'.repeat(bytes - JSON.stringify({ [key]: '' }).length) };
}

function nested(levels: number): JsonObject {
  let value: JsonObject = {};
  for (let i = 1; i < levels; i++) value = { a: value };
  return value;
}

const base = (): DocState => ({
  nodes: { n1: { x: 10, label: 'Start', tags: ['a'] }, n2: { x: 20 } },
  edges: { e1: { from: 'n1', to: 'n2' } },
});

// ---- examples ---------------------------------------------------------------

describe('applyOp: set', () => {
  it('creates an entity and its collection', () => {
    const state = emptyState();
    applyOp(state, set('nodes', 'n1', { x: 1 }));
    expect(state).toEqual({ nodes: { n1: { x: 1 } } });
  });

  it('replaces an entity rather than merging', () => {
    expect(after(base(), set('nodes', 'n1', { y: 2 })).nodes).toEqual({
      n1: { y: 2 },
      n2: { x: 20 },
    });
  });

  it('keeps an empty object as an entity', () => {
    expect(after({}, set('c', 'i', {}))).toEqual({ c: { i: {} } });
  });
});

describe('applyOp: patch', () => {
  it('merges shallowly: nested objects and arrays are replaced whole', () => {
    const state = { c: { i: { a: { p: 1, q: 2 }, list: [1, 2], keep: true } } };
    expect(after(state, patch('c', 'i', { a: { p: 9 }, list: [3], added: 'yes' }))).toEqual({
      c: { i: { a: { p: 9 }, list: [3], keep: true, added: 'yes' } },
    });
  });

  it('removes a field whose value is null', () => {
    expect(after(base(), patch('nodes', 'n1', { label: null, x: 11 })).nodes?.n1).toEqual({
      x: 11,
      tags: ['a'],
    });
  });

  it('ignores null for a field that is absent', () => {
    expect(after(base(), patch('nodes', 'n2', { nothing: null }))).toEqual(base());
  });

  it('keeps the entity when every field is removed', () => {
    expect(after(base(), patch('nodes', 'n2', { x: null })).nodes?.n2).toEqual({});
  });

  it('is a no-op on a missing entity or collection', () => {
    expect(after(base(), patch('nodes', 'n9', { x: 1 }))).toEqual(base());
    expect(after(base(), patch('other', 'n1', { x: 1 }))).toEqual(base());
    expect(after({}, patch('c', 'i', { x: 1 }))).toEqual({});
  });

  it('keeps false, 0, "" and [] as values (only null removes)', () => {
    expect(after({ c: { i: {} } }, patch('c', 'i', { f: false, z: 0, s: '', a: [] }))).toEqual({
      c: { i: { f: false, z: 0, s: '', a: [] } },
    });
  });

  it('does not mutate the previous entity (snapshots stay intact)', () => {
    const entity = { x: 1, y: 2 };
    const state: DocState = { c: { i: entity } };
    applyOp(state, patch('c', 'i', { x: null, z: 3 }));
    expect(entity).toEqual({ x: 1, y: 2 });
    expect(state.c?.i).toEqual({ y: 2, z: 3 });
  });
});

describe('applyOp: del', () => {
  it('removes the entity and keeps a non-empty collection', () => {
    expect(after(base(), del('nodes', 'n1')).nodes).toEqual({ n2: { x: 20 } });
  });

  it('removes a collection that becomes empty', () => {
    const state = after(base(), del('edges', 'e1'));
    expect(state).toEqual({ nodes: base().nodes });
    expect(Object.keys(state)).toEqual(['nodes']);
    expect(after({ c: { i: {} } }, del('c', 'i'))).toEqual({});
  });

  it('is a no-op when the entity or collection is absent', () => {
    expect(after(base(), del('nodes', 'n9'))).toEqual(base());
    expect(after(base(), del('other', 'n1'))).toEqual(base());
    expect(after({}, del('c', 'i'))).toEqual({});
  });
});

describe('names that Object.prototype also has', () => {
  const names = ['toString', 'valueOf', 'hasOwnProperty', 'isPrototypeOf', '__defineGetter__'];

  it.each(names)('treats %s as an ordinary entity id', (name) => {
    const state: DocState = { c: { i: { x: 1 } } };
    applyOp(state, patch('c', name, { y: 1 }));
    expect(state).toEqual({ c: { i: { x: 1 } } });
    applyOp(state, del('c', name));
    expect(state).toEqual({ c: { i: { x: 1 } } });
    applyOp(state, set('c', name, { v: 1 }));
    applyOp(state, patch('c', name, { w: 2 }));
    expect(state).toEqual({ c: { i: { x: 1 }, [name]: { v: 1, w: 2 } } });
    applyOp(state, del('c', name));
    expect(state).toEqual({ c: { i: { x: 1 } } });
  });

  it.each(names)('treats %s as an ordinary collection name', (name) => {
    const state: DocState = {};
    applyOp(state, patch(name, 'i', { y: 1 }));
    expect(state).toEqual({});
    applyOp(state, set(name, 'i', { v: 1 }));
    expect(state).toEqual({ [name]: { i: { v: 1 } } });
    expect(Object.hasOwn(Object.prototype, 'i')).toBe(false);
    expect(Object.hasOwn(Object.prototype.toString, 'i')).toBe(false);
    applyOp(state, del(name, 'i'));
    expect(state).toEqual({});
  });

  it.each(names)('applyMessage treats %s as an ordinary name', (name) => {
    const state: DocState = { c: { i: { x: 1 } } };
    expect(applyMessage(state, [patch('c', name, { y: 1 }), patch(name, 'i', { y: 1 })])).toBe(
      undefined,
    );
    expect(state).toEqual({ c: { i: { x: 1 } } });
    expect(applyMessage(state, [set(name, name, { v: 1 }), patch(name, name, { w: 2 })])).toBe(
      undefined,
    );
    expect(state).toEqual({ c: { i: { x: 1 } }, [name]: { [name]: { v: 1, w: 2 } } });
    const inherited = (Object.prototype as unknown as Record<string, object>)[name] as object;
    expect(Object.hasOwn(inherited, name)).toBe(false);
    expect(Object.hasOwn(Object.prototype, 'i')).toBe(false);
  });

  it('never writes through __proto__ (rejected by the validator, but applyOp must not pollute)', () => {
    const state: DocState = {};
    applyOp(state, set('__proto__', 'polluted', { x: 1 }));
    applyOp(state, set('c', '__proto__', { x: 1 }));
    const fields = JSON.parse('{"__proto__":{"polluted":1}}') as JsonObject;
    applyOp(state, patch('c', '__proto__', fields));
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getPrototypeOf(state)).toBe(Object.prototype);
    expect(Object.getPrototypeOf(state.c)).toBe(Object.prototype);
    expect(Object.keys(state)).toEqual(['__proto__', 'c']);
    applyOp(state, del('__proto__', 'polluted'));
    expect(Object.keys(state)).toEqual(['c']);
  });
});

describe('patched', () => {
  it('returns a new object and leaves both inputs alone', () => {
    const entity = { a: 1, b: 2 };
    const fields = { b: null, c: 3 };
    const result = patched(entity, fields);
    expect(result).toEqual({ a: 1, c: 3 });
    expect(result).not.toBe(entity);
    expect(entity).toEqual({ a: 1, b: 2 });
    expect(fields).toEqual({ b: null, c: 3 });
  });
});

describe('applyMessage', () => {
  it('applies every op in order and returns undefined', () => {
    const state = base();
    const ops = [
      set('nodes', 'n3', { x: 30 }),
      patch('nodes', 'n3', { y: 1 }),
      del('nodes', 'n1'),
      patch('nodes', 'n1', { x: 1 }),
      set('edges', 'e2', { from: 'n2', to: 'n3' }),
      del('edges', 'e1'),
    ];
    expect(applyMessage(state, ops)).toBeUndefined();
    expect(state).toEqual(after(base(), ...ops));
    expect(state).toEqual({
      nodes: { n2: { x: 20 }, n3: { x: 30, y: 1 } },
      edges: { e2: { from: 'n2', to: 'n3' } },
    });
  });

  it('drops a collection emptied in the message and recreates one filled again', () => {
    const state = base();
    expect(applyMessage(state, [del('edges', 'e1')])).toBeUndefined();
    expect(state).toEqual({ nodes: base().nodes });
    expect(applyMessage(state, [set('e', 'x', {}), del('e', 'x')])).toBeUndefined();
    expect(state).toEqual({ nodes: base().nodes });
    expect(
      applyMessage(state, [del('nodes', 'n1'), del('nodes', 'n2'), set('nodes', 'n1', {})]),
    ).toBe(undefined);
    expect(state).toEqual({ nodes: { n1: {} } });
  });

  it('accepts a patch that makes an entity exactly 16 KiB', () => {
    const state: DocState = { c: { i: { a: 1 } } };
    const target = sized(MAX_ENTITY_BYTES);
    expect(applyMessage(state, [patch('c', 'i', { a: null, ...target })])).toBeUndefined();
    expect(JSON.stringify(state.c?.i).length).toBe(MAX_ENTITY_BYTES);
  });

  it('refuses the whole message when a patch would exceed 16 KiB, even after good ops', () => {
    const state: DocState = { c: { big: sized(10_000, 'a') }, d: { keep: { k: 1 } } };
    const before = cloneState(state);
    const ops = [
      set('c', 'fresh', { x: 1 }),
      del('d', 'keep'),
      patch('c', 'big', { z: 1 }),
      patch('c', 'big', sized(7_000, 'b')),
      set('c', 'later', { y: 1 }),
    ];
    const reason = applyMessage(state, ops);
    expect(reason).toMatch(/ops\[3\]/);
    expect(reason).toMatch(/c\/big/);
    expect(reason).toMatch(/bytes/);
    expect(state).toEqual(before);
  });

  it('refuses by one byte', () => {
    const state: DocState = { c: { i: { a: 1 } } };
    const before = cloneState(state);
    const tooBig = sized(MAX_ENTITY_BYTES + 1);
    expect(applyMessage(state, [patch('c', 'i', { a: null, ...tooBig })])).toMatch(/ops\[0\]/);
    expect(state).toEqual(before);
  });

  it('refuses a patch whose result is too deep', () => {
    const state: DocState = { c: { i: { a: 1 } } };
    expect(applyMessage(state, [patch('c', 'i', { b: nested(MAX_ENTITY_DEPTH - 1) })])).toBe(
      undefined,
    );
    expect(applyMessage(state, [patch('c', 'i', { b: nested(MAX_ENTITY_DEPTH) })])).toMatch(/deep/);
    expect(state.c?.i).toEqual({ a: 1, b: nested(MAX_ENTITY_DEPTH - 1) });
  });

  it('checks a patch against the value set earlier in the same message', () => {
    const state: DocState = {};
    const ops = [set('c', 'i', sized(10_000, 'a')), patch('c', 'i', sized(7_000, 'b'))];
    expect(applyMessage(state, ops)).toMatch(/ops\[1\]/);
    expect(state).toEqual({});
    expect(
      applyMessage(state, [set('c', 'i', sized(10_000, 'a')), patch('c', 'i', { b: 1 })]),
    ).toBe(undefined);
    expect(state.c?.i).toMatchObject({ b: 1 });
  });

  it('ignores a patch of an entity deleted earlier in the same message', () => {
    const state: DocState = { c: { i: sized(10_000, 'a') } };
    expect(
      applyMessage(state, [del('c', 'i'), patch('c', 'i', sized(7_000, 'b'))]),
    ).toBeUndefined();
    expect(state).toEqual({});
  });

  it('leaves the ops it applied unchanged', () => {
    const ops = [set('c', 'i', { a: { b: 1 } }), patch('c', 'i', { a: null, c: [1] })];
    const copy = JSON.parse(JSON.stringify(ops)) as Op[];
    const state: DocState = {};
    applyMessage(state, ops);
    expect(ops).toEqual(copy);
  });
});

describe('cloneState', () => {
  it('copies deeply', () => {
    const original = base();
    const copy = cloneState(original);
    expect(copy).toEqual(original);
    (copy.nodes?.n1?.tags as JsonValue[]).push('b');
    delete copy.edges;
    applyOp(copy, set('nodes', 'n2', { x: 0 }));
    expect(original).toEqual(base());
  });
});

// ---- properties --------------------------------------------------------------------------

// Small alphabets so that ops collide; names shared with Object.prototype included.
const collArb = fc.constantFrom('a', 'b', 'toString');
const idArb = fc.constantFrom('x', 'y', 'z', 'valueOf');
const keyArb = fc.constantFrom('p', 'q', 'r', 'constructor2');
const scalarArb: fc.Arbitrary<JsonValue> = fc.oneof(
  fc.integer({ min: -5, max: 5 }),
  fc.constantFrom('', 's', 'é', true, false),
);
const leafArb: fc.Arbitrary<JsonValue> = fc.oneof(
  { weight: 4, arbitrary: scalarArb },
  { weight: 1, arbitrary: fc.array(scalarArb, { maxLength: 2 }) },
  { weight: 1, arbitrary: fc.dictionary(keyArb, scalarArb, { maxKeys: 2 }) },
);
const entityArb: fc.Arbitrary<JsonObject> = fc.dictionary(keyArb, leafArb, { maxKeys: 3 });
const fieldsArb: fc.Arbitrary<JsonObject> = fc.dictionary(
  keyArb,
  fc.oneof(leafArb, fc.constant(null)),
  { maxKeys: 3 },
);

function opArb(
  entity: fc.Arbitrary<JsonObject>,
  fields: fc.Arbitrary<JsonObject>,
  coll: fc.Arbitrary<string> = collArb,
  id: fc.Arbitrary<string> = idArb,
): fc.Arbitrary<Op> {
  return fc.oneof(
    fc.record({ op: fc.constant('set' as const), coll, id, value: entity }),
    fc.record({ op: fc.constant('patch' as const), coll, id, fields }),
    fc.record({ op: fc.constant('del' as const), coll, id }),
  );
}

const messageArb = fc.array(opArb(entityArb, fieldsArb), { minLength: 1, maxLength: 6 });
const stateArb: fc.Arbitrary<DocState> = fc.dictionary(
  collArb,
  fc.dictionary(idArb, entityArb, { minKeys: 1, maxKeys: 3 }),
  { maxKeys: 3 },
);
const historyArb = fc.array(messageArb, { maxLength: 12 });

/** The server: applies each message atomically, numbering the accepted ones. */
function serverSnapshots(initial: DocState, history: Op[][]): DocState[] {
  const state = cloneState(initial);
  const snapshots = [cloneState(state)];
  for (const ops of history) {
    expect(applyMessage(state, ops)).toBeUndefined();
    snapshots.push(cloneState(state));
  }
  return snapshots;
}

/** No collection is ever left empty. */
function wellFormed(state: DocState): void {
  for (const entities of Object.values(state))
    expect(Object.keys(entities).length).toBeGreaterThan(0);
}

describe('properties', () => {
  it('(a) folding events onto the snapshot at seq N gives the snapshot at any later seq', () => {
    fc.assert(
      fc.property(
        stateArb,
        historyArb,
        fc.nat(),
        fc.nat(),
        (initial, history, cutSeed, laterSeed) => {
          const snapshots = serverSnapshots(initial, history);
          const eventsJson = JSON.stringify(history);
          const n = cutSeed % snapshots.length;
          const later = n + (laterSeed % (snapshots.length - n));
          const state = cloneState(snapshots[n] as DocState);
          for (const ops of history.slice(n, later)) applyOps(state, ops);
          expect(state).toEqual(snapshots[later]);
          wellFormed(state);
          // Applying never changes the events themselves.
          expect(JSON.stringify(history)).toBe(eventsJson);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('(b) clients that receive the same events converge, whatever snapshot they start from', () => {
    fc.assert(
      fc.property(
        stateArb,
        historyArb,
        fc.array(fc.nat(), { minLength: 1, maxLength: 5 }),
        (initial, history, cuts) => {
          const snapshots = serverSnapshots(initial, history);
          const server = snapshots[snapshots.length - 1] as DocState;
          const clients = cuts.map((seed, index) => {
            const n = seed % snapshots.length;
            // Each client is handed its own copy of the snapshot, as over the wire.
            const state = cloneState(snapshots[n] as DocState);
            for (const ops of history.slice(n)) {
              // Clients apply in different styles: op by op, a whole message, atomically.
              if (index % 3 === 0) for (const op of ops) applyOp(state, op);
              else if (index % 3 === 1) applyOps(state, ops);
              else expect(applyMessage(state, ops)).toBeUndefined();
            }
            return state;
          });
          for (const client of clients) {
            expect(client).toEqual(server);
            expect(JSON.parse(JSON.stringify(client))).toEqual(JSON.parse(JSON.stringify(server)));
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('(c) applyMessage equals applyOps whenever it does not refuse, and changes nothing when it does', () => {
    // Big values so that some patches break the 16 KiB limit; a set value or patch
    // fields alone stay within it, as the validator ensures.
    const chunk = 'x'.repeat(9_000);
    const bigEntity = fc
      .tuple(fc.boolean(), entityArb)
      .map(([big, entity]): JsonObject => (big ? { ...entity, big1: chunk } : entity));
    const bigFields = fc
      .tuple(fc.boolean(), fieldsArb, fc.boolean())
      .map(([big, fields, drop]): JsonObject => ({
        ...fields,
        ...(big ? { big2: chunk } : {}),
        ...(drop ? { big1: null } : {}),
      }));
    const fewColls = fc.constantFrom('a', 'toString');
    const fewIds = fc.constantFrom('x', 'valueOf');
    const bigState = fc.dictionary(
      fewColls,
      fc.dictionary(fewIds, bigEntity, { minKeys: 1, maxKeys: 2 }),
      { minKeys: 1, maxKeys: 2 },
    );
    const bigMessage = fc.array(opArb(bigEntity, bigFields, fewColls, fewIds), {
      minLength: 2,
      maxLength: 8,
    });
    let refusals = 0;
    fc.assert(
      fc.property(bigState, bigMessage, (initial, ops) => {
        const viaOps = cloneState(initial);
        // The reference: apply op by op, noting the first patch whose result breaks a limit.
        let firstBad: number | undefined;
        ops.forEach((op, index) => {
          if (firstBad === undefined && op.op === 'patch') {
            const entities = Object.hasOwn(viaOps, op.coll) ? viaOps[op.coll] : undefined;
            const current =
              entities && Object.hasOwn(entities, op.id) ? entities[op.id] : undefined;
            if (current && entityProblem(patched(current, op.fields))) firstBad = index;
          }
          applyOp(viaOps, op);
        });

        const viaMessage = cloneState(initial);
        const reason = applyMessage(viaMessage, ops);
        if (reason === undefined) {
          expect(firstBad).toBeUndefined();
          expect(viaMessage).toEqual(viaOps);
          wellFormed(viaMessage);
        } else {
          refusals++;
          expect(reason).toContain(`ops[${firstBad}]`);
          expect(viaMessage).toEqual(initial);
        }
      }),
      { numRuns: 300 },
    );
    // Both outcomes occur (about one run in fifteen is refused).
    expect(refusals).toBeGreaterThan(0);
  });

  it('(d) cloneState produces an independent copy', () => {
    fc.assert(
      fc.property(stateArb, messageArb, (generated, generatedOps) => {
        // Work on copies: the values fast-check generated must stay intact for shrinking.
        const original = structuredClone(generated);
        const ops = structuredClone(generatedOps);
        const frozen = JSON.stringify(original);
        const copy = cloneState(original);
        expect(copy).toEqual(original);
        if (Object.keys(original).length > 0) expect(copy).not.toBe(original);

        // Changes to the copy, through ops and by hand at every level, leave the original alone.
        applyOps(copy, ops);
        for (const entities of Object.values(copy)) {
          for (const entity of Object.values(entities)) {
            for (const value of Object.values(entity)) {
              if (Array.isArray(value)) value.push('mutated');
              else if (value && typeof value === 'object') value.mutated = true;
            }
            entity.mutated = true;
          }
          entities.mutated = {};
        }
        copy.mutated = {};
        expect(JSON.stringify(original)).toBe(frozen);

        // And the other way round.
        const second = cloneState(original);
        applyOps(original, ops);
        for (const entities of Object.values(original)) entities.mutated = {};
        expect(JSON.stringify(second)).toBe(frozen);
      }),
      { numRuns: 200 },
    );
  });
});
