import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  entityProblem,
  jsonBytes,
  MAX_CSEQ,
  MAX_ENTITY_BYTES,
  MAX_ENTITY_DEPTH,
  MAX_PRESENCE_BYTES,
  parseClientMessage,
  utf8Length,
  withinDepth,
} from '../../src/protocol';
import type { ClientMessage, JsonObject, Rejection } from '../../src/protocol';

// ---- helpers ----------------------------------------------------------------

/** Parses text that must be accepted and returns the message. */
function accept(text: string): ClientMessage {
  const result = parseClientMessage(text);
  if (!result.ok) throw new Error(`expected ok, got ${JSON.stringify(result.error)}`);
  return result.message;
}

/** Parses text that must be rejected with BAD_REQUEST and returns the rejection. */
function reject(text: string): Rejection {
  const result = parseClientMessage(text);
  if (result.ok) throw new Error(`expected a rejection, got ${JSON.stringify(result.message)}`);
  expect(result.error.code).toBe('BAD_REQUEST');
  expect(result.error.message.length).toBeGreaterThan(0);
  return result.error;
}

const ok = (msg: unknown): ClientMessage => accept(JSON.stringify(msg));

/** The message is rejected and its message names `field`. */
function bad(msg: unknown, field: string): Rejection {
  const error = reject(typeof msg === 'string' ? msg : JSON.stringify(msg));
  expect(error.message).toContain(field);
  return error;
}

/** A JSON object nested `levels` deep: `{}` is 1 level, `{"a":{}}` is 2. */
function nested(levels: number): Record<string, unknown> {
  let value: Record<string, unknown> = {};
  for (let i = 1; i < levels; i++) value = { a: value };
  return value;
}

/** An object whose JSON is exactly `bytes` bytes, `{"s":"xxx..."}`. */
function sized(bytes: number): { s: string } {
  const overhead = JSON.stringify({ s: '' }).length;
  return { s: 'x'.repeat(bytes - overhead) };
}

/** A JSON text of `n` nested arrays, built as text: JSON.stringify would recurse. */
const deepArrayText = (n: number): string => '['.repeat(n) + ']'.repeat(n);
const deepObjectText = (n: number): string => '{"a":'.repeat(n) + '1' + '}'.repeat(n);

const setOp = (value: unknown = { x: 1 }) => ({ op: 'set', coll: 'nodes', id: 'n1', value });
const opMsg = (ops: unknown[], extra: Record<string, unknown> = {}) => ({
  type: 'op',
  doc: 'doc-1',
  cseq: 1,
  ops,
  ...extra,
});
/** An op message as text, with `opText` spliced in raw (for keys JSON.stringify cannot write). */
const opText = (...ops: string[]): string =>
  `{"type":"op","doc":"d","cseq":7,"ops":[${ops.join(',')}]}`;

// ---- frames that are not messages ----------------------------------------------

describe('parseClientMessage: frames that are not messages', () => {
  it.each([
    '',
    'not json',
    '{',
    '{"type":"ping"',
    "{'type':'ping'}",
    '{"type":"ping"}x',
    'undefined',
  ])('rejects non-JSON %j', (text) => {
    const error = reject(text);
    expect(error.message).toMatch(/JSON/);
    expect(error.doc).toBeUndefined();
  });

  it.each(['[]', '[{"type":"ping"}]', '1', '-2.5', 'null', 'true', '"ping"'])(
    'rejects non-object JSON %s',
    (text) => {
      expect(reject(text).message).toMatch(/object/);
    },
  );

  it('rejects a missing type', () => {
    bad({ doc: 'd' }, '"type"');
    bad({}, '"type"');
  });

  it.each([['hello'], ['PING'], [''], ['toString'], ['__proto__'], ['joined'], ['pong']])(
    'rejects the unknown type %j and names it',
    (type) => {
      const error = bad({ type }, '"type"');
      expect(error.message).toContain(JSON.stringify(type));
    },
  );

  it.each([[1], [null], [true], [['ping']], [{ a: 1 }]])(
    'rejects the non-string type %j',
    (type) => {
      bad({ type }, '"type"');
    },
  );

  it('quotes at most a short prefix of a long unknown type', () => {
    const error = bad({ type: 'z'.repeat(10_000) }, '"type"');
    expect(error.message.length).toBeLessThan(200);
  });
});

// ---- ping and ref ---------------------------------------------------------------

describe('parseClientMessage: strings that are not Unicode', () => {
  // A lone UTF-16 surrogate is valid JSON syntax (an escape) but no character:
  // Redis's JSON decoder refuses it, so an op carrying one must never be queued.
  it.each([
    ['in ref', '{"type":"ping","ref":"\\ud958x"}'],
    [
      'in a value',
      '{"type":"op","doc":"d","cseq":1,"ops":[{"op":"set","coll":"c","id":"i","value":{"s":"\\udc00"}}]}',
    ],
    [
      'in a key',
      '{"type":"op","doc":"d","cseq":1,"ops":[{"op":"patch","coll":"c","id":"i","fields":{"a\\ude54":1}}]}',
    ],
    ['in presence', '{"type":"presence","doc":"d","state":{"n":["\\ud800"]}}'],
  ])('refuses a lone surrogate %s, naming it', (_, text) => {
    const error = reject(text);
    expect(error.message).toContain('not valid Unicode');
  });

  it('echoes doc and cseq of a refused op', () => {
    const error = reject(
      '{"type":"op","doc":"d","cseq":3,"ops":[{"op":"set","coll":"c","id":"i","value":{"s":"\\ud958"}}]}',
    );
    expect(error).toMatchObject({ doc: 'd', cseq: 3 });
  });

  it('accepts pairs, escaped or not, and an escaped backslash before "u"', () => {
    expect(ok({ type: 'ping', ref: '😀' })).toMatchObject({ ref: '😀' });
    expect(accept('{"type":"ping","ref":"\\ud83d\\ude00"}')).toMatchObject({ ref: '😀' });
    expect(accept('{"type":"ping","ref":"\\\\ud958"}')).toMatchObject({ ref: '\\ud958' });
  });
});

describe('parseClientMessage: ping and ref', () => {
  it('accepts ping and drops unknown fields', () => {
    expect(ok({ type: 'ping' })).toEqual({ type: 'ping' });
    expect(ok({ type: 'ping', extra: [1, 2], doc: 'ignored' })).toEqual({ type: 'ping' });
  });

  it('keeps a ref of up to 64 characters', () => {
    expect(ok({ type: 'ping', ref: 'r1' })).toEqual({ type: 'ping', ref: 'r1' });
    expect(ok({ type: 'ping', ref: '' })).toEqual({ type: 'ping', ref: '' });
    const ref = 'r'.repeat(64);
    expect(ok({ type: 'ping', ref })).toEqual({ type: 'ping', ref });
    expect(ok({ type: 'leave', doc: 'd', ref })).toEqual({ type: 'leave', doc: 'd', ref });
  });

  it.each([[1], [null], [true], [['r']], [{ r: 1 }], ['r'.repeat(65)]])(
    'rejects the ref %j',
    (ref) => {
      const error = bad({ type: 'ping', ref }, '"ref"');
      expect(error.ref).toBeUndefined();
    },
  );

  it('echoes a valid ref in the rejection of an otherwise bad message', () => {
    expect(bad({ type: 'nope', ref: 'abc' }, '"type"').ref).toBe('abc');
    expect(bad({ type: 'leave', ref: 'x'.repeat(64) }, '"doc"').ref).toBe('x'.repeat(64));
    expect(bad(opMsg([]), '"ops"').ref).toBeUndefined();
    expect(bad(opMsg([], { ref: 'q' }), '"ops"').ref).toBe('q');
  });

  it('echoes a valid doc and cseq when the ref itself is bad', () => {
    const error = bad(opMsg([setOp()], { ref: 5 }), '"ref"');
    expect(error.doc).toBe('doc-1');
    expect(error.cseq).toBe(1);
  });
});

// ---- join --------------------------------------------------------------------------

describe('parseClientMessage: join', () => {
  it('accepts a minimal join and every optional field', () => {
    expect(ok({ type: 'join', doc: 'd' })).toEqual({ type: 'join', doc: 'd' });
    expect(
      ok({ type: 'join', doc: 'd', since: 12, epoch: 'e-1', presence: { name: 'A' }, ref: 'j' }),
    ).toEqual({
      type: 'join',
      doc: 'd',
      since: 12,
      epoch: 'e-1',
      presence: { name: 'A' },
      ref: 'j',
    });
    expect(ok({ type: 'join', doc: 'd', since: 0 })).toEqual({ type: 'join', doc: 'd', since: 0 });
    expect(ok({ type: 'join', doc: 'd', since: MAX_CSEQ })).toMatchObject({ since: MAX_CSEQ });
    expect(ok({ type: 'join', doc: 'd', presence: {} })).toEqual({
      type: 'join',
      doc: 'd',
      presence: {},
    });
  });

  it.each([
    ['A-Za-z0-9_.:-'],
    ['a'],
    ['d'.repeat(128)],
    ['org:team.doc_1-2'],
    ['...'],
    ['toString'],
    ['__proto__'],
  ])('accepts the doc id %j', (doc) => {
    expect(ok({ type: 'join', doc })).toEqual({ type: 'join', doc });
  });

  it.each([[''], ['d'.repeat(129)], ['a b'], ['a/b'], ['doc\n'], ['é'], ['a*'], ['{d}']])(
    'rejects the doc id %j',
    (doc) => {
      const error = bad({ type: 'join', doc }, '"doc"');
      expect(error.doc).toBeUndefined();
    },
  );

  it.each([[undefined], [null], [1], [['d']], [{ id: 'd' }], [true]])(
    'rejects a doc of the wrong type %j',
    (doc) => {
      bad({ type: 'join', doc }, '"doc"');
    },
  );

  it.each([[-1], [1.5], ['3'], [null], [MAX_CSEQ + 1], [1e300], [[1]], [true]])(
    'rejects since %j',
    (since) => {
      const error = bad({ type: 'join', doc: 'd', since }, '"since"');
      expect(error.doc).toBe('d');
    },
  );

  it('accepts an epoch of up to 64 characters and rejects the rest', () => {
    expect(ok({ type: 'join', doc: 'd', epoch: 'e'.repeat(64) })).toMatchObject({
      epoch: 'e'.repeat(64),
    });
    for (const epoch of ['e'.repeat(65), 1, null, ['e'], { e: 1 }]) {
      bad({ type: 'join', doc: 'd', epoch }, '"epoch"');
    }
  });

  it.each([[null], [[]], [[{ a: 1 }]], ['me'], [1], [true]])(
    'rejects a join presence that is not an object: %j',
    (presence) => {
      bad({ type: 'join', doc: 'd', presence }, '"presence"');
    },
  );

  it('limits the join presence to 4 KiB', () => {
    expect(ok({ type: 'join', doc: 'd', presence: sized(MAX_PRESENCE_BYTES) })).toMatchObject({
      presence: sized(MAX_PRESENCE_BYTES),
    });
    bad({ type: 'join', doc: 'd', presence: sized(MAX_PRESENCE_BYTES + 1) }, '"presence"');
  });
});

// ---- leave ------------------------------------------------------------------------------

describe('parseClientMessage: leave', () => {
  it('accepts a leave', () => {
    expect(ok({ type: 'leave', doc: 'a.b' })).toEqual({ type: 'leave', doc: 'a.b' });
  });

  it('rejects a leave without a valid doc', () => {
    bad({ type: 'leave' }, '"doc"');
    bad({ type: 'leave', doc: 7 }, '"doc"');
    bad({ type: 'leave', doc: 'x'.repeat(129) }, '"doc"');
  });
});

// ---- presence ---------------------------------------------------------------------------

describe('parseClientMessage: presence', () => {
  it('accepts an object or null as state', () => {
    expect(ok({ type: 'presence', doc: 'd', state: { cursor: [1, 2] } })).toEqual({
      type: 'presence',
      doc: 'd',
      state: { cursor: [1, 2] },
    });
    expect(ok({ type: 'presence', doc: 'd', state: null })).toEqual({
      type: 'presence',
      doc: 'd',
      state: null,
    });
  });

  it('requires state', () => {
    bad({ type: 'presence', doc: 'd' }, '"state"');
  });

  it.each([[[]], ['s'], [1], [false], [[{}]]])('rejects the state %j', (state) => {
    bad({ type: 'presence', doc: 'd', state }, '"state"');
  });

  it('limits the state to 4 KiB of UTF-8 JSON', () => {
    expect(ok({ type: 'presence', doc: 'd', state: sized(MAX_PRESENCE_BYTES) })).toMatchObject({
      state: sized(MAX_PRESENCE_BYTES),
    });
    bad({ type: 'presence', doc: 'd', state: sized(MAX_PRESENCE_BYTES + 1) }, '"state"');
    // 2050 two-byte characters: 2050 UTF-16 units but 4100 + 8 bytes.
    bad({ type: 'presence', doc: 'd', state: { s: 'é'.repeat(2050) } }, '"state"');
  });

  it('requires a valid doc', () => {
    bad({ type: 'presence', state: {} }, '"doc"');
  });
});

// ---- op: envelope -------------------------------------------------------------------------

describe('parseClientMessage: op envelope', () => {
  it('accepts an op message and keeps only the known fields of each op', () => {
    const msg = ok(
      opMsg([
        { op: 'set', coll: 'nodes', id: 'n1', value: { x: 1 }, fields: { ignored: 1 } },
        { op: 'patch', coll: 'nodes', id: 'n1', fields: { x: null, y: 'z' }, extra: true },
        { op: 'del', coll: 'edges', id: 'e.1:2', value: { ignored: 1 } },
      ]),
    );
    expect(msg).toEqual({
      type: 'op',
      doc: 'doc-1',
      cseq: 1,
      ops: [
        { op: 'set', coll: 'nodes', id: 'n1', value: { x: 1 } },
        { op: 'patch', coll: 'nodes', id: 'n1', fields: { x: null, y: 'z' } },
        { op: 'del', coll: 'edges', id: 'e.1:2' },
      ],
    });
  });

  it('accepts cseq 1 and 2^53 - 1', () => {
    expect(ok(opMsg([setOp()], { cseq: 1 }))).toMatchObject({ cseq: 1 });
    expect(
      accept(
        `{"type":"op","doc":"d","cseq":9007199254740991,"ops":[{"op":"del","coll":"c","id":"i"}]}`,
      ),
    ).toMatchObject({
      cseq: 2 ** 53 - 1,
    });
  });

  it.each([
    ['0', '0'],
    ['negative', '-1'],
    ['float', '1.5'],
    ['2^53', '9007199254740992'],
    ['huge', '1e300'],
    ['string', '"1"'],
    ['null', 'null'],
    ['array', '[1]'],
  ])('rejects cseq %s and does not echo it', (_name, cseq) => {
    const error = reject(
      `{"type":"op","doc":"d","cseq":${cseq},"ops":[{"op":"del","coll":"c","id":"i"}]}`,
    );
    expect(error.message).toContain('"cseq"');
    expect(error.cseq).toBeUndefined();
    expect(error.doc).toBe('d');
  });

  it('rejects a missing cseq', () => {
    bad({ type: 'op', doc: 'd', ops: [setOp()] }, '"cseq"');
  });

  it('accepts 1 and 100 ops, rejects 0 and 101', () => {
    const del = { op: 'del', coll: 'c', id: 'i' };
    expect(ok(opMsg([del]))).toMatchObject({ ops: [del] });
    expect((ok(opMsg(Array(100).fill(del))) as { ops: unknown[] }).ops).toHaveLength(100);
    bad(opMsg([]), '"ops"');
    bad(opMsg(Array(101).fill(del)), '"ops"');
  });

  it.each([[undefined], [null], [{ 0: setOp() }], ['set'], [1]])('rejects ops %j', (ops) => {
    bad({ type: 'op', doc: 'd', cseq: 1, ops }, '"ops"');
  });

  it('rejects an op message without a valid doc, echoing the valid cseq', () => {
    const error = bad({ type: 'op', cseq: 4, ops: [setOp()] }, '"doc"');
    expect(error.cseq).toBe(4);
    expect(error.doc).toBeUndefined();
  });

  it('echoes doc and cseq when an op is bad', () => {
    const error = bad(opMsg([setOp(), { op: 'move' }], { cseq: 42, ref: 'r' }), 'ops[1].op');
    expect(error).toEqual({
      code: 'BAD_REQUEST',
      message: error.message,
      doc: 'doc-1',
      cseq: 42,
      ref: 'r',
    });
  });
});

// ---- op: each op -----------------------------------------------------------------------

describe('parseClientMessage: ops', () => {
  it.each([[null], [[]], ['set'], [1]])('rejects the op %j', (op) => {
    bad(opMsg([setOp(), op]), 'ops[1]');
  });

  it.each([[undefined], ['SET'], ['insert'], ['update'], [''], [1], [null], ['toString']])(
    'rejects the op name %j',
    (op) => {
      bad(opMsg([{ op, coll: 'c', id: 'i', value: {} }]), 'ops[0].op');
    },
  );

  it.each([
    ['c'.repeat(64), true],
    ['A-z_0-9', true],
    ['toString', true],
    ['c'.repeat(65), false],
    ['', false],
    ['a.b', false],
    ['a:b', false],
    ['a b', false],
    ['é', false],
  ])('coll %j accepted: %s', (coll, valid) => {
    const msg = opMsg([{ op: 'del', coll, id: 'i' }]);
    if (valid) expect(ok(msg)).toMatchObject({ ops: [{ coll }] });
    else bad(msg, 'ops[0].coll');
  });

  it.each([[undefined], [1], [null], [['c']]])('rejects the coll %j', (coll) => {
    bad(opMsg([{ op: 'del', coll, id: 'i' }]), 'ops[0].coll');
  });

  it.each([
    ['i'.repeat(128), true],
    ['a.b:c-d_e', true],
    ['hasOwnProperty', true],
    ['i'.repeat(129), false],
    ['', false],
    ['a/b', false],
    ['a b', false],
    ['ü', false],
  ])('id %j accepted: %s', (id, valid) => {
    const msg = opMsg([{ op: 'del', coll: 'c', id }]);
    if (valid) expect(ok(msg)).toMatchObject({ ops: [{ id }] });
    else bad(msg, 'ops[0].id');
  });

  it.each([[undefined], [1], [null], [{}]])('rejects the id %j', (id) => {
    bad(opMsg([{ op: 'del', coll: 'c', id }]), 'ops[0].id');
  });

  describe.each(['__proto__', 'constructor', 'prototype'])('the reserved name %s', (name) => {
    it('is rejected as a collection name', () => {
      const error = reject(opText(`{"op":"del","coll":"${name}","id":"i"}`));
      expect(error.message).toContain('ops[0].coll');
      expect(error.message).toContain(name);
      expect(error).toMatchObject({ doc: 'd', cseq: 7 });
    });

    it('is rejected as an entity id', () => {
      const error = reject(
        opText(
          '{"op":"del","coll":"c","id":"i"}',
          `{"op":"set","coll":"c","id":"${name}","value":{}}`,
        ),
      );
      expect(error.message).toContain('ops[1].id');
    });

    it('is rejected as a key of value (an own property after JSON.parse)', () => {
      const error = reject(
        opText(`{"op":"set","coll":"c","id":"i","value":{"a":1,"${name}":{"x":1}}}`),
      );
      expect(error.message).toContain('ops[0].value');
      expect(error.message).toContain(name);
    });

    it('is rejected as a key of fields', () => {
      const error = reject(opText(`{"op":"patch","coll":"c","id":"i","fields":{"${name}":null}}`));
      expect(error.message).toContain('ops[0].fields');
      expect(error.message).toContain(name);
    });

    it('is an ordinary name in doc ids and in nested values', () => {
      expect(accept(`{"type":"join","doc":"${name}"}`)).toEqual({ type: 'join', doc: name });
      const msg = accept(opText(`{"op":"set","coll":"c","id":"i","value":{"a":{"${name}":1}}}`));
      expect(JSON.stringify(msg)).toContain(name);
    });
  });

  it('leaves Object.prototype alone when a key is __proto__', () => {
    reject(opText('{"op":"set","coll":"c","id":"i","value":{"__proto__":{"polluted":1}}}'));
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it.each([[null], [[]], [[{ x: 1 }]], ['v'], [1], [undefined]])(
    'rejects a set value that is not an object: %j',
    (value) => {
      bad(opMsg([{ op: 'set', coll: 'c', id: 'i', value }]), 'ops[0].value');
    },
  );

  it.each([[null], [[]], ['f'], [2], [undefined]])(
    'rejects patch fields that are not an object: %j',
    (fields) => {
      bad(opMsg([{ op: 'patch', coll: 'c', id: 'i', fields }]), 'ops[0].fields');
    },
  );

  it('accepts an entity of exactly 16 KiB and rejects one byte more', () => {
    expect(jsonBytes(sized(MAX_ENTITY_BYTES))).toBe(MAX_ENTITY_BYTES);
    expect(ok(opMsg([setOp(sized(MAX_ENTITY_BYTES))]))).toMatchObject({ type: 'op' });
    bad(opMsg([setOp(sized(MAX_ENTITY_BYTES + 1))]), 'ops[0].value');
    expect(
      ok(opMsg([{ op: 'patch', coll: 'c', id: 'i', fields: sized(MAX_ENTITY_BYTES) }])),
    ).toMatchObject({ type: 'op' });
    bad(
      opMsg([{ op: 'patch', coll: 'c', id: 'i', fields: sized(MAX_ENTITY_BYTES + 1) }]),
      'ops[0].fields',
    );
  });

  it('measures the entity size in UTF-8 bytes, not UTF-16 units', () => {
    const overhead = JSON.stringify({ s: '' }).length;
    const half = (MAX_ENTITY_BYTES - overhead) / 2;
    expect(ok(opMsg([setOp({ s: 'é'.repeat(half) })]))).toMatchObject({ type: 'op' });
    bad(opMsg([setOp({ s: 'é'.repeat(half) + 'x' })]), 'ops[0].value');
    // A surrogate pair is 4 bytes.
    const quarter = (MAX_ENTITY_BYTES - overhead) / 4;
    expect(ok(opMsg([setOp({ s: '😀'.repeat(quarter) })]))).toMatchObject({ type: 'op' });
    bad(opMsg([setOp({ s: '😀'.repeat(quarter) + 'x' })]), 'ops[0].value');
  });

  it('accepts an entity 32 levels deep and rejects 33', () => {
    expect(ok(opMsg([setOp(nested(MAX_ENTITY_DEPTH))]))).toMatchObject({ type: 'op' });
    bad(opMsg([setOp(nested(MAX_ENTITY_DEPTH + 1))]), 'ops[0].value');
    expect(
      ok(opMsg([{ op: 'patch', coll: 'c', id: 'i', fields: nested(MAX_ENTITY_DEPTH) }])),
    ).toMatchObject({ type: 'op' });
    bad(
      opMsg([{ op: 'patch', coll: 'c', id: 'i', fields: nested(MAX_ENTITY_DEPTH + 1) }]),
      'ops[0].fields',
    );
  });

  it('counts arrays as levels', () => {
    let arrays: unknown = 1;
    for (let i = 0; i < MAX_ENTITY_DEPTH - 1; i++) arrays = [arrays];
    expect(ok(opMsg([setOp({ a: arrays })]))).toMatchObject({ type: 'op' });
    bad(opMsg([setOp({ a: [arrays] })]), 'ops[0].value');
  });

  it('names the index of the first bad op', () => {
    const good = { op: 'del', coll: 'c', id: 'i' };
    bad(opMsg([good, good, good, { op: 'del', coll: 'c', id: '' }]), 'ops[3].id');
  });
});

// ---- hostile nesting ------------------------------------------------------------------------

describe('parseClientMessage: 100000 levels of nesting', () => {
  const n = 100_000;
  const arrays = deepArrayText(n);
  const objects = deepObjectText(n);
  const setWith = (v: string) => `{"op":"set","coll":"c","id":"i","value":${v}}`;

  it.each([
    ['value', opText(setWith(`{"a":${arrays}}`)), 'ops[0].value'],
    ['value (objects)', opText(setWith(objects)), 'ops[0].value'],
    ['fields', opText(`{"op":"patch","coll":"c","id":"i","fields":${objects}}`), 'ops[0].fields'],
    ['join presence', `{"type":"join","doc":"d","presence":${objects}}`, '"presence"'],
    ['presence state', `{"type":"presence","doc":"d","state":{"a":${arrays}}}`, '"state"'],
    ['type', `{"type":${arrays}}`, '"type"'],
    ['type (objects)', `{"type":${objects}}`, '"type"'],
    ['doc', `{"type":"leave","doc":${arrays}}`, '"doc"'],
    ['ref', `{"type":"ping","ref":${arrays}}`, '"ref"'],
    ['since', `{"type":"join","doc":"d","since":${arrays}}`, '"since"'],
    ['epoch', `{"type":"join","doc":"d","epoch":${arrays}}`, '"epoch"'],
    ['cseq', `{"type":"op","doc":"d","cseq":${arrays},"ops":[]}`, '"cseq"'],
    ['ops', `{"type":"op","doc":"d","cseq":1,"ops":${arrays}}`, 'ops[0]'],
    ['an op', opText(arrays), 'ops[0]'],
    ['op name', opText(`{"op":${arrays},"coll":"c","id":"i"}`), 'ops[0].op'],
    ['coll', opText(`{"op":"del","coll":${arrays},"id":"i"}`), 'ops[0].coll'],
    ['id', opText(`{"op":"del","coll":"c","id":${objects}}`), 'ops[0].id'],
  ])('in %s returns BAD_REQUEST without throwing', (_where, text, field) => {
    let result: ReturnType<typeof parseClientMessage> | undefined;
    expect(() => {
      result = parseClientMessage(text);
    }).not.toThrow();
    expect(result?.ok).toBe(false);
    if (result && !result.ok) {
      expect(result.error.code).toBe('BAD_REQUEST');
      expect(result.error.message).toContain(field);
    }
  });

  it('as the whole frame returns BAD_REQUEST without throwing', () => {
    expect(() => parseClientMessage(arrays)).not.toThrow();
    expect(parseClientMessage(arrays).ok).toBe(false);
  });

  it('withinDepth is iterative', () => {
    const value = JSON.parse(objects) as unknown;
    expect(withinDepth(value, MAX_ENTITY_DEPTH)).toBe(false);
    expect(withinDepth(value, n + 1)).toBe(true);
  });
});

// ---- helpers of the module ----------------------------------------------------------------

describe('utf8Length, jsonBytes, withinDepth, entityProblem', () => {
  it('counts UTF-8 bytes', () => {
    expect(utf8Length('')).toBe(0);
    expect(utf8Length('a')).toBe(1);
    expect(utf8Length('é')).toBe(2);
    expect(utf8Length('€')).toBe(3);
    expect(utf8Length('😀')).toBe(4);
    expect(utf8Length('\ud800')).toBe(3);
    expect(utf8Length('\udc00')).toBe(3);
    // A high surrogate not followed by a low one is a lone surrogate (3 bytes, as U+FFFD).
    expect(utf8Length('\ud800€')).toBe(6);
    expect(utf8Length('\ud800\ud800\udc00')).toBe(7);
    expect(jsonBytes({ a: 'é' })).toBe(10);
  });

  it('agrees with Buffer.byteLength on any string, lone surrogates included', () => {
    const unit = fc.oneof(
      fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)),
      fc.constantFrom('\ud83d', '\ude00', '😀', 'é', 'a'),
    );
    fc.assert(
      fc.property(fc.string({ unit, maxLength: 40 }), (text) => {
        expect(utf8Length(text)).toBe(Buffer.byteLength(text, 'utf8'));
      }),
      { numRuns: 300 },
    );
  });

  it('measures depth with objects and arrays as levels', () => {
    expect(withinDepth({}, 1)).toBe(true);
    expect(withinDepth({ a: 1 }, 1)).toBe(true);
    expect(withinDepth({ a: [] }, 1)).toBe(false);
    expect(withinDepth({ a: [] }, 2)).toBe(true);
    expect(withinDepth(nested(32), 32)).toBe(true);
    expect(withinDepth(nested(33), 32)).toBe(false);
    expect(withinDepth({ a: {}, b: { c: { d: {} } } }, 3)).toBe(false);
  });

  it('entityProblem names depth and size', () => {
    expect(entityProblem(sized(MAX_ENTITY_BYTES) as JsonObject)).toBeUndefined();
    expect(entityProblem(sized(MAX_ENTITY_BYTES + 1) as JsonObject)).toMatch(/bytes/);
    expect(entityProblem(nested(MAX_ENTITY_DEPTH + 1) as JsonObject)).toMatch(/deep/);
  });
});

// ---- properties --------------------------------------------------------------------------------

describe('parseClientMessage: properties', () => {
  it('never throws and always answers BAD_REQUEST on rejection, for any JSON', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const result = parseClientMessage(JSON.stringify(value));
        if (!result.ok) expect(result.error.code).toBe('BAD_REQUEST');
      }),
      { numRuns: 300 },
    );
  });

  it('never throws for objects shaped like messages', () => {
    const anyField = fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constant(undefined));
    const shaped = fc.record(
      {
        type: fc.oneof(fc.constantFrom('join', 'leave', 'op', 'presence', 'ping'), anyField),
        doc: fc.oneof(fc.constantFrom('d', ''), anyField),
        cseq: anyField,
        since: anyField,
        epoch: anyField,
        ref: anyField,
        state: anyField,
        presence: anyField,
        ops: fc.oneof(
          fc.array(
            fc.record({
              op: fc.oneof(fc.constantFrom('set', 'patch', 'del'), anyField),
              coll: fc.oneof(fc.constantFrom('c', '__proto__'), anyField),
              id: fc.oneof(fc.constantFrom('i', 'constructor'), anyField),
              value: anyField,
              fields: anyField,
            }),
            { maxLength: 3 },
          ),
          anyField,
        ),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(shaped, (msg) => {
        const result = parseClientMessage(JSON.stringify(msg));
        if (!result.ok) {
          expect(result.error.code).toBe('BAD_REQUEST');
          if (result.error.cseq !== undefined) expect(result.error.cseq).toBeGreaterThanOrEqual(1);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('accepts every well-formed op message and returns it unchanged', () => {
    const name = fc.stringMatching(/^[A-Za-z0-9_-]{1,8}$/);
    const entity = fc.dictionary(
      name,
      fc.jsonValue({ maxDepth: 3 }).filter((v) => v !== null),
      { maxKeys: 4 },
    );
    const op = fc.oneof(
      fc.record({ op: fc.constant('set'), coll: name, id: name, value: entity }),
      fc.record({ op: fc.constant('patch'), coll: name, id: name, fields: entity }),
      fc.record({ op: fc.constant('del'), coll: name, id: name }),
    );
    const message = fc.record({
      type: fc.constant('op'),
      doc: fc.stringMatching(/^[A-Za-z0-9_.:-]{1,20}$/),
      cseq: fc.integer({ min: 1, max: MAX_CSEQ }),
      ops: fc.array(op, { minLength: 1, maxLength: 10 }),
    });
    fc.assert(
      fc.property(message, (msg) => {
        const text = JSON.stringify(msg);
        expect(accept(text)).toEqual(JSON.parse(text));
      }),
      { numRuns: 200 },
    );
  });
});
