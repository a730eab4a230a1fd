import type { JsonObject, Op, OpMessage, PresenceMessage } from '../protocol';

/**
 * Microseconds on the machine's monotonic clock (CLOCK_MONOTONIC through
 * process.hrtime). Every worker thread of the process reads the same clock, so
 * a time written into an op by one thread is comparable with the receipt time
 * read in another: that is how fan-out latency is measured.
 */
export function nowUs(): number {
  const [s, ns] = process.hrtime();
  return s * 1e6 + ns / 1e3;
}

/** Entities each client writes per document: the state stays small however long the run. */
export const ENTITIES_PER_CLIENT = 4;
/** Every PATCH_EVERY-th op message patches instead of setting; every DEL_EVERY-th deletes. */
const PATCH_EVERY = 8;
const DEL_EVERY = 32;

/** The smallest entity value: {"t":<16 digits>,"c":<cseq>,"p":""}. */
export const MIN_OP_SIZE = 40;

const padCache = new Map<number, string>();
function pad(length: number): string {
  let text = padCache.get(length);
  if (text === undefined) padCache.set(length, (text = 'x'.repeat(Math.max(0, length))));
  return text;
}

/**
 * The entity value of an op: the intended send time `t` (µs, nowUs clock),
 * the cseq, and padding so that its JSON is `size` bytes (give or take the
 * width of the numbers).
 */
export function entityValue(tUs: number, cseq: number, size: number): JsonObject {
  const t = Math.round(tUs);
  const fixed = `{"t":${t},"c":${cseq},"p":""}`.length;
  return { t, c: cseq, p: pad(size - fixed) };
}

/**
 * The op message with cseq `cseq` of client number `clientIndex` in `doc`:
 * mostly a `set` of one of the client's own entities, sometimes a `patch` of
 * one or a `del`, so that the final-state check exercises all three ops.
 */
export function opMessage(
  doc: string,
  clientIndex: number,
  cseq: number,
  tUs: number,
  size: number,
): OpMessage {
  const id = `c${clientIndex}.${cseq % ENTITIES_PER_CLIENT}`;
  let op: Op;
  if (cseq % DEL_EVERY === 0) {
    op = { op: 'del', coll: 'nodes', id: `c${clientIndex}.${(cseq + 1) % ENTITIES_PER_CLIENT}` };
  } else if (cseq % PATCH_EVERY === 0) {
    op = { op: 'patch', coll: 'nodes', id, fields: { t: Math.round(tUs), c: cseq, q: null } };
  } else {
    op = { op: 'set', coll: 'nodes', id, value: entityValue(tUs, cseq, size) };
  }
  return { type: 'op', doc, cseq, ops: [op] };
}

/** The send time written into an op by opMessage, or undefined (a del carries none). */
export function sendTimeOf(ops: readonly Op[]): number | undefined {
  const op = ops[0];
  if (!op || op.op === 'del') return undefined;
  const t = op.op === 'set' ? op.value.t : op.fields.t;
  return typeof t === 'number' ? t : undefined;
}

export function presenceMessage(doc: string, tUs: number, n: number): PresenceMessage {
  return { type: 'presence', doc, state: { t: Math.round(tUs), x: n % 1000, y: (n * 7) % 1000 } };
}
