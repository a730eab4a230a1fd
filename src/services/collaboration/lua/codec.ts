import { entityProblem } from '../../../protocol/validate';
import type { DocState, EventRecord, JsonObject, Op } from '../../../protocol';
import type { ApplyOutcome, OpSubmission } from '../../../document/op-submission';
import { pushSubmission } from '../../../redis/submission-args';
import { tooLargeMessage } from '../../../document/document-size';
import type { CatchUp, DocumentSnapshot } from '../../../document/catch-up';
import type { SnapshotRead } from '../../../document/stored-snapshot';
import type { OpRecords } from '../op-fate';
import { parseDedupeRecord } from '../dedupe-bounds';

/**
 * Turns submissions into the ARGV of apply-6 and the scripts' replies into
 * the service's types. The contracts are in the headers of the Lua sources.
 */

/** A reply of an unexpected shape: a bug in a script or its codec, never a Redis outage. */
export class ScriptReplyError extends Error {
  constructor(script: string, what: string) {
    super(`unexpected reply from Redis script ${script}: ${what}`);
    this.name = 'ScriptReplyError';
  }
}

function asArray(script: string, value: unknown, what: string): unknown[] {
  if (!Array.isArray(value)) throw new ScriptReplyError(script, `${what} is not an array`);
  return value;
}

function asString(script: string, value: unknown, what: string): string {
  if (typeof value === 'string') return value;
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  throw new ScriptReplyError(script, `${what} is not a string`);
}

function asNumber(script: string, value: unknown, what: string): number {
  const n = typeof value === 'string' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isSafeInteger(n))
    throw new ScriptReplyError(script, `${what} is not an integer`);
  return n;
}

/** The refusal message of a patch that would break the limits, worded as src/document/apply-ops.ts words it. */
function refusalMessage(op: Op | undefined, index: number, patchedJson: string): string {
  const problem =
    entityProblem(JSON.parse(patchedJson) as JsonObject) ?? 'it breaks the entity limits';
  return `ops[${index}] would make ${op?.coll}/${op?.id} too big: ${problem}`;
}

export function decodeApply(
  doc: string,
  batch: readonly OpSubmission[],
  reply: unknown,
  maxDocBytes: number,
): ApplyOutcome[] {
  const items = asArray('apply-6', reply, 'the reply');
  const epoch = asString('apply-6', items[0], 'the epoch');
  if (items.length !== 1 + 3 * batch.length)
    throw new ScriptReplyError('apply-6', 'wrong number of outcomes');
  return batch.map((sub, i): ApplyOutcome => {
    const kind = asString('apply-6', items[1 + 3 * i], 'an outcome');
    const value = asNumber('apply-6', items[2 + 3 * i], 'an outcome value');
    const ref = sub.ref === undefined ? {} : { ref: sub.ref };
    const who = { doc, client: sub.client, cseq: sub.cseq };
    switch (kind) {
      case 'applied':
        return { kind: 'applied', ...who, epoch, seq: value, ops: sub.ops, ...ref };
      case 'duplicate':
        return { kind: 'duplicate', ...who, epoch, seq: value === 0 ? null : value, ...ref };
      case 'too_large':
        return {
          kind: 'rejected',
          ...who,
          code: 'TOO_LARGE',
          message: tooLargeMessage(value, maxDocBytes),
          ...ref,
        };
      case 'rejected': {
        const json = asString('apply-6', items[3 + 3 * i], 'the refused entity');
        const message = refusalMessage(sub.ops[value], value, json);
        return { kind: 'rejected', ...who, code: 'BAD_REQUEST', message, ...ref };
      }
      default:
        throw new ScriptReplyError('apply-6', `unknown outcome ${kind}`);
    }
  });
}

/** A state hash as HGETALL gives it (field, entity JSON, ...) to a document state. */
export function decodeState(script: string, flat: unknown): DocState {
  const items = asArray(script, flat, 'the state');
  const collections = new Map<string, Array<[string, JsonObject]>>();
  for (let i = 0; i + 1 < items.length; i += 2) {
    const field = asString(script, items[i], 'a state field');
    const slash = field.indexOf('/');
    const coll = field.slice(0, slash);
    const entity = JSON.parse(asString(script, items[i + 1], 'an entity')) as JsonObject;
    let entities = collections.get(coll);
    if (!entities) collections.set(coll, (entities = []));
    entities.push([field.slice(slash + 1), entity]);
  }
  // fromEntries defines own properties, so no name can reach Object.prototype.
  return Object.fromEntries(
    [...collections].map(([coll, entities]) => [coll, Object.fromEntries(entities)]),
  );
}

/** XRANGE entries of the history stream to event records. */
export function decodeEvents(script: string, entries: unknown): EventRecord[] {
  return asArray(script, entries, 'the events').map((entry) => {
    const [id, fieldList] = asArray(script, entry, 'an event');
    const fields = asArray(script, fieldList, 'event fields');
    const values = new Map<string, string>();
    for (let i = 0; i + 1 < fields.length; i += 2) {
      values.set(
        asString(script, fields[i], 'an event field'),
        asString(script, fields[i + 1], 'an event value'),
      );
    }
    const seq = asNumber(script, asString(script, id, 'an event id').slice(2), 'an event seq');
    return {
      seq,
      client: values.get('client') ?? '',
      cseq: asNumber(script, values.get('cseq'), 'an event cseq'),
      ops: JSON.parse(values.get('ops') ?? '[]') as Op[],
    };
  });
}

/** A script's `{ 'missing' }` reply: a durable document with no session, to load from the store. */
export function isMissing(reply: unknown): boolean {
  return (
    Array.isArray(reply) &&
    reply.length === 1 &&
    asString('reply', reply[0], 'the status') === 'missing'
  );
}

/**
 * open-6's reply: the events after the resume point, or a snapshot; with
 * `durable`, savedSeq too. `missing` for a durable document with no session.
 */
export function decodeOpen(doc: string, reply: unknown, durable: boolean): CatchUp | 'missing' {
  if (isMissing(reply)) return 'missing';
  const [epochItem, seqItem, kind, payload, savedItem] = asArray('open-6', reply, 'the reply');
  const epoch = asString('open-6', epochItem, 'the epoch');
  const seq = asNumber('open-6', seqItem, 'the seq');
  const saved = durable ? { savedSeq: asNumber('open-6', savedItem, 'the saved seq') } : {};
  if (asString('open-6', kind, 'the kind') === 'events') {
    return { kind: 'events', epoch, seq, events: decodeEvents('open-6', payload), ...saved };
  }
  return {
    kind: 'snapshot',
    snapshot: { doc, epoch, seq, state: decodeState('open-6', payload) },
    ...saved,
  };
}

/** save-read-3's reply. */
export function decodeSaveRead(reply: unknown): SnapshotRead {
  const items = asArray('save-read-3', reply, 'the reply');
  const kind = asString('save-read-3', items[0], 'the kind');
  switch (kind) {
    case 'gone':
      return { kind };
    case 'busy':
      return { kind };
    case 'stored':
      return { kind, seq: asNumber('save-read-3', items[1], 'the saved seq') };
    case 'snapshot':
      return {
        kind,
        snapshot: {
          epoch: asString('save-read-3', items[1], 'the epoch'),
          seq: asNumber('save-read-3', items[2], 'the seq'),
          state: decodeState('save-read-3', items[3]),
        },
      };
    default:
      throw new ScriptReplyError('save-read-3', `unknown kind ${kind}`);
  }
}

/** events-2's reply: the events after the given seq, or null when not all of them are kept. */
export function decodeEventsAfter(reply: unknown): EventRecord[] | null {
  const [kind, entries] = asArray('events-2', reply, 'the reply');
  if (asString('events-2', kind, 'the kind') !== 'events') return null;
  return decodeEvents('events-2', entries);
}

/** find-op-3's reply: the records a client's ops are judged by; null when the document has no session. */
export function decodeFindOp(reply: unknown): OpRecords | null {
  const items = asArray('find-op-3', reply, 'the reply');
  if (items.length === 0) return null;
  const window = parseDedupeRecord(asString('find-op-3', items[2], 'the dedupe record'));
  const pairs = asArray('find-op-3', items[4], 'the events');
  const clientEvents: Array<{ seq: number; cseq: number }> = [];
  for (let i = 0; i + 1 < pairs.length; i += 2) {
    clientEvents.push({
      seq: asNumber('find-op-3', pairs[i], 'an event seq'),
      cseq: asNumber('find-op-3', pairs[i + 1], 'an event cseq'),
    });
  }
  return {
    epoch: asString('find-op-3', items[0], 'the epoch'),
    last: window.at(-1) ?? null,
    window,
    firstKept: asNumber('find-op-3', items[3], 'the first kept seq'),
    clientEvents,
  };
}

/** snapshot-2's reply; null when the document has no session. */
export function decodeSnapshot(doc: string, reply: unknown): DocumentSnapshot | null {
  const items = asArray('snapshot-2', reply, 'the reply');
  if (items.length === 0) return null;
  return {
    doc,
    epoch: asString('snapshot-2', items[0], 'the epoch'),
    seq: asNumber('snapshot-2', items[1], 'the seq'),
    state: decodeState('snapshot-2', items[2]),
  };
}

export { asArray, asNumber, asString, pushSubmission };
