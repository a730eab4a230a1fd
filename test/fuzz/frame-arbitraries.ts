import fc from 'fast-check';

/**
 * fast-check arbitraries for what a hostile or buggy client may put in a
 * WebSocket frame. Most frames are meant to be refused; some are valid op
 * messages with odd content, which the server must apply exactly as sent.
 */

/** One frame to send: text (well-formed UTF-8), raw bytes sent as a text frame, or a binary frame. */
export type Frame =
  | { kind: 'text'; text: string }
  | { kind: 'raw-text'; bytes: Uint8Array }
  | { kind: 'binary'; bytes: Uint8Array };

const loneSurrogate = fc
  .integer({ min: 0xd800, max: 0xdfff })
  .map((code) => String.fromCharCode(code));

/** Any code point (no lone surrogate), sometimes a control character or a BOM. */
const textChar = fc.oneof(
  {
    arbitrary: fc
      .string({ unit: 'binary', minLength: 1, maxLength: 1 })
      .filter((char) => !/\p{Surrogate}/u.test(char)),
    weight: 6,
  },
  {
    arbitrary: fc.constantFrom(
      '\u0000',
      '\u001f',
      '\u2028',
      '\u2029',
      '\ufeff',
      '\uffff',
      '"',
      '\\',
      '\u{1f600}',
    ),
    weight: 2,
  },
);

/** Like textChar, sometimes a lone surrogate half (no text: the gateway refuses it). */
const oddChar = fc.oneof(
  { arbitrary: textChar, weight: 8 },
  { arbitrary: loneSurrogate, weight: 2 },
);

/**
 * Odd but mostly valid text: one string in ten may hold a lone surrogate,
 * which makes its whole message BAD_REQUEST, so most op messages that carry
 * odd strings are still applied and checked.
 */
export const oddString = fc.oneof(
  { arbitrary: fc.string({ unit: textChar, maxLength: 24 }), weight: 9 },
  { arbitrary: fc.string({ unit: oddChar, maxLength: 24 }), weight: 1 },
);

/** Names that are valid identifiers, near-valid ones, and reserved ones. */
const nameLike = fc.oneof(
  { arbitrary: fc.constantFrom('a', 'b', 'c', 'n1', 'x.y', 'a:b', 'A-Z_0'), weight: 6 },
  {
    arbitrary: fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'valueOf'),
    weight: 1,
  },
  {
    arbitrary: fc.constantFrom('', ' ', 'a b', 'é', '*', '../x', 'a'.repeat(65), 'a'.repeat(129)),
    weight: 1,
  },
  { arbitrary: oddString, weight: 2 },
);

const weirdNumber = fc.oneof(
  fc.constantFrom(
    0,
    -0,
    -1,
    1,
    0.5,
    2 ** 53 - 1,
    2 ** 53,
    2 ** 53 + 2,
    -(2 ** 53),
    Number.MAX_VALUE,
    Number.MIN_VALUE,
    1e308,
    -1e308,
    5e-324,
  ),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);

/** Values a field of the wrong type might hold. */
const wrongType = fc.oneof(
  weirdNumber,
  fc.constantFrom(null, true, false, 'NaN', 'Infinity', '-Infinity', '1e999', '0x10', '1', ''),
  fc.constant([]),
  fc.constant({}),
  oddString,
);

/** JSON values with odd strings and numbers, limited depth. */
const jsonValue: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    weirdNumber,
    oddString,
    fc.constantFrom(null, true, false),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(nameLike, tie('value'), { maxKeys: 4 }),
  ),
})).value;

/** A JSON object (an entity value, patch fields or a presence state). */
export const jsonObject = fc.dictionary(nameLike, jsonValue, { maxKeys: 5 });

/** Small collection and entity ids, so that patches and deletes meet existing entities. */
const coll = fc.oneof(
  { arbitrary: fc.constantFrom('nodes', 'edges'), weight: 8 },
  { arbitrary: nameLike, weight: 1 },
);
const entityId = fc.oneof(
  { arbitrary: fc.constantFrom('a', 'b', 'c'), weight: 8 },
  { arbitrary: nameLike, weight: 1 },
);

/** An op that is usually valid, sometimes with a wrong field. */
const opLike = fc.oneof(
  {
    arbitrary: fc.record({ op: fc.constant('set'), coll, id: entityId, value: jsonObject }),
    weight: 4,
  },
  {
    arbitrary: fc.record({ op: fc.constant('patch'), coll, id: entityId, fields: jsonObject }),
    weight: 3,
  },
  { arbitrary: fc.record({ op: fc.constant('del'), coll, id: entityId }), weight: 2 },
  {
    arbitrary: fc.record(
      {
        op: fc.oneof(fc.constantFrom('set', 'patch', 'del', 'SET', 'merge', ''), wrongType),
        coll: fc.oneof(coll, wrongType),
        id: fc.oneof(entityId, wrongType),
        value: fc.oneof(jsonObject, wrongType),
        fields: fc.oneof(jsonObject, wrongType),
        extra: wrongType,
      },
      { requiredKeys: [] },
    ),
    weight: 2,
  },
);

/**
 * Valid cseqs mostly, spread wide so that about half of them are above the
 * client's last applied one (and applied), any number sometimes.
 */
const cseqLike = fc.oneof(
  { arbitrary: fc.integer({ min: 1, max: 2 ** 40 }), weight: 6 },
  { arbitrary: fc.constantFrom(1, Number.MAX_SAFE_INTEGER), weight: 1 },
  { arbitrary: wrongType, weight: 2 },
);

/** Keys that pass the validator (any string but the reserved three), odd ones included. */
const safeKey = fc
  .oneof(
    { arbitrary: fc.constantFrom('x', 'y', 'label', 'toString', 'valueOf', ''), weight: 3 },
    { arbitrary: oddString, weight: 2 },
  )
  .filter((key) => !['__proto__', 'constructor', 'prototype'].includes(key));

/** Objects that pass the validator but hold odd strings, numbers and nesting. */
const safeObject: fc.Arbitrary<Record<string, unknown>> = fc.letrec<{
  value: unknown;
  object: Record<string, unknown>;
}>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    weirdNumber,
    oddString,
    fc.constantFrom(null, true, false),
    fc.array(tie('value'), { maxLength: 3 }),
    tie('object'),
  ),
  object: fc.dictionary(safeKey, tie('value'), { maxKeys: 4 }),
})).object;

/** An op message that the server should apply (unless a patch grows an entity too far). */
function validOpMessage(doc: string): fc.Arbitrary<Record<string, unknown>> {
  const id = fc.constantFrom('a', 'b', 'c', 'toString', 'x.y:z');
  const collName = fc.constantFrom('nodes', 'edges', 'valueOf');
  const op = fc.oneof(
    fc.record({ op: fc.constant('set'), coll: collName, id, value: safeObject }),
    fc.record({ op: fc.constant('patch'), coll: collName, id, fields: safeObject }),
    fc.record({ op: fc.constant('del'), coll: collName, id }),
  );
  return fc.record(
    {
      type: fc.constant('op'),
      doc: fc.constant(doc),
      cseq: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
      ops: fc.array(op, { minLength: 1, maxLength: 6 }),
      ref: fc.string({ maxLength: 64 }),
    },
    { requiredKeys: ['type', 'doc', 'cseq', 'ops'] },
  );
}

export interface FrameContext {
  /** The document the fuzzing client has joined. */
  doc: string;
}

/** A message object with the protocol's field names and random contents. */
function messageLike(ctx: FrameContext): fc.Arbitrary<Record<string, unknown>> {
  const doc = fc.oneof(
    { arbitrary: fc.constant(ctx.doc), weight: 8 },
    { arbitrary: fc.oneof(nameLike, wrongType), weight: 2 },
  );
  const ref = fc.oneof(
    { arbitrary: fc.string({ maxLength: 8 }), weight: 4 },
    { arbitrary: fc.oneof(fc.constant('r'.repeat(65)), wrongType), weight: 1 },
  );
  return fc.oneof(
    // Valid-looking op messages: the bulk of what may change the document.
    {
      arbitrary: fc.record(
        {
          type: fc.constant('op'),
          doc,
          cseq: cseqLike,
          ops: fc.oneof(
            { arbitrary: fc.array(opLike, { minLength: 1, maxLength: 4 }), weight: 8 },
            { arbitrary: fc.oneof(fc.constant([]), wrongType), weight: 1 },
          ),
          ref,
        },
        { requiredKeys: ['type', 'doc', 'cseq', 'ops'] },
      ),
      weight: 6,
    },
    {
      arbitrary: fc.record(
        {
          type: fc.constantFrom('join', 'leave', 'presence', 'ping'),
          doc,
          since: fc.oneof(fc.nat(), wrongType),
          epoch: fc.oneof(fc.string(), fc.constant('e'.repeat(65)), wrongType),
          presence: fc.oneof(jsonObject, wrongType),
          state: fc.oneof(jsonObject, wrongType),
          ref,
        },
        { requiredKeys: ['type'] },
      ),
      weight: 3,
    },
    {
      arbitrary: fc.record(
        {
          type: fc.oneof(
            fc.constantFrom('OP', 'Join', 'welcome', 'ack', 'event', '__proto__', 'constructor'),
            wrongType,
          ),
          doc,
          cseq: cseqLike,
          ops: fc.array(opLike, { maxLength: 2 }),
        },
        { requiredKeys: [] },
      ),
      weight: 2,
    },
  );
}

/** Nesting far past any depth limit, balanced or not. */
const deepNesting = fc
  .record({
    depth: fc.integer({ min: 33, max: 20_000 }),
    open: fc.constantFrom('[', '{"a":'),
    balanced: fc.boolean(),
    docField: fc.boolean(),
  })
  .map(({ depth, open, balanced, docField }) => {
    const close = open === '[' ? ']' : '}';
    const inner = `${open.repeat(depth)}1${balanced ? close.repeat(depth) : ''}`;
    return docField
      ? `{"type":"op","doc":"x","cseq":1,"ops":[{"op":"set","coll":"c","id":"i","value":{"v":${inner}}}]}`
      : inner;
  });

/** A frame of text, a long one sometimes (up to just over the 64 KiB frame limit). */
function textFrame(ctx: FrameContext): fc.Arbitrary<string> {
  return fc.oneof(
    { arbitrary: messageLike(ctx).map((m) => JSON.stringify(m)), weight: 12 },
    { arbitrary: validOpMessage(ctx.doc).map((m) => JSON.stringify(m)), weight: 6 },
    { arbitrary: fc.json({ maxDepth: 4 }), weight: 2 },
    { arbitrary: fc.string({ unit: oddChar, maxLength: 64 }), weight: 2 },
    { arbitrary: deepNesting, weight: 1 },
    {
      // Text that JSON.parse reads with numbers it cannot hold.
      arbitrary: fc
        .constantFrom(
          '1e999',
          '-1e999',
          'NaN',
          '-0',
          '1e-400',
          '123456789012345678901234567890',
          '0.1e1',
        )
        .map(
          (n) =>
            `{"type":"op","doc":${JSON.stringify(ctx.doc)},"cseq":${n},"ops":[{"op":"del","coll":"c","id":"i"}]}`,
        ),
      weight: 1,
    },
    {
      // Long strings, around the frame limit and the entity limit.
      arbitrary: fc
        .record({
          size: fc.oneof(
            fc.integer({ min: 16_000, max: 17_000 }),
            fc.integer({ min: 64_000, max: 70_000 }),
          ),
          char: fc.constantFrom('x', 'é', '😀', '\\u0000'),
        })
        .map(({ size, char }) =>
          JSON.stringify({
            type: 'op',
            doc: ctx.doc,
            cseq: 1,
            ops: [
              {
                op: 'set',
                coll: 'c',
                id: 'i',
                value: { s: char.repeat(Math.ceil(size / char.length)) },
              },
            ],
          }),
        ),
      weight: 1,
    },
    {
      arbitrary: fc.constantFrom(
        '',
        ' ',
        'null',
        '[]',
        '{}',
        '"op"',
        '{"type":null}',
        '{"__proto__":{"type":"ping"}}',
        '{"type":"ping","type":"op"}',
      ),
      weight: 1,
    },
  );
}

export function frameArbitrary(ctx: FrameContext): fc.Arbitrary<Frame> {
  return fc.oneof(
    { arbitrary: textFrame(ctx).map((text): Frame => ({ kind: 'text', text })), weight: 20 },
    {
      arbitrary: fc
        .uint8Array({ maxLength: 256 })
        .map((bytes): Frame => ({ kind: 'binary', bytes })),
      weight: 1,
    },
    {
      // Not UTF-8 at all, in a text frame.
      arbitrary: fc.uint8Array({ minLength: 1, maxLength: 32 }).map((bytes): Frame => ({
        kind: 'raw-text',
        bytes: Uint8Array.from([0x7b, 0xff, 0xc0, ...bytes]),
      })),
      weight: 1,
    },
  );
}
