import type { ErrorCode } from './errors';
import { holdsLoneSurrogate, mayHoldLoneSurrogate } from './unicode';
import { unhandled } from './exhaustive';
import {
  COLLECTION_PATTERN,
  DOC_ID_PATTERN,
  ENTITY_ID_PATTERN,
  MAX_CSEQ,
  MAX_ENTITY_BYTES,
  MAX_ENTITY_DEPTH,
  MAX_EPOCH_LENGTH,
  MAX_OPS_PER_MESSAGE,
  MAX_PRESENCE_BYTES,
  MAX_REF_LENGTH,
  RESERVED_NAMES,
} from './limits';
import type { ClientMessage, JsonObject, Op } from './messages';

/** A rejected client message, with what the error reply may echo. */
export interface Rejection {
  code: ErrorCode;
  message: string;
  ref?: string;
  doc?: string;
  cseq?: number;
}

export type ParseResult = { ok: true; message: ClientMessage } | { ok: false; error: Rejection };

class Invalid extends Error {}

function fail(message: string): never {
  throw new Invalid(message);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function docOf(raw: Record<string, unknown>): string {
  const doc = raw.doc;
  if (typeof doc !== 'string') fail('"doc" is required and must be a string');
  if (!DOC_ID_PATTERN.test(doc)) {
    fail('"doc" must be 1-128 characters of A-Z a-z 0-9 _ . : -');
  }
  return doc;
}

/**
 * Depth of a JSON value (an object or array counts one level) and whether it
 * stays within `maxDepth`. Iterative so that a hostile, deeply nested value
 * cannot overflow the stack.
 */
export function withinDepth(value: unknown, maxDepth: number): boolean {
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop() as [unknown, number];
    if (typeof node !== 'object' || node === null) continue;
    if (depth > maxDepth) return false;
    const children = Array.isArray(node) ? node : Object.values(node);
    for (const child of children) {
      if (typeof child === 'object' && child !== null) stack.push([child, depth + 1]);
    }
  }
  return true;
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}

/** UTF-8 length of a string without Buffer or TextEncoder, so the SDK runs in browsers. */
export function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) bytes += 1;
    else if (code < 0x800) bytes += 2;
    else if (code >= 0xd800 && code <= 0xdbff && isLowSurrogate(text.charCodeAt(i + 1))) {
      // A surrogate pair is one 4-byte code point.
      bytes += 4;
      i++;
    } else bytes += 3; // a lone surrogate is encoded as U+FFFD, also 3 bytes
  }
  return bytes;
}

export function jsonBytes(value: unknown): number {
  return utf8Length(JSON.stringify(value));
}

/** The checks every entity (a `set` value, or the result of a patch) must pass. */
export function entityProblem(entity: JsonObject): string | undefined {
  if (!withinDepth(entity, MAX_ENTITY_DEPTH)) {
    return `an entity may be at most ${MAX_ENTITY_DEPTH} levels deep`;
  }
  const bytes = jsonBytes(entity);
  if (bytes > MAX_ENTITY_BYTES) {
    return `an entity may be at most ${MAX_ENTITY_BYTES} bytes of JSON; this one is ${bytes}`;
  }
  return undefined;
}

function checkKeys(obj: Record<string, unknown>, field: string, index: number): void {
  for (const key of Object.keys(obj)) {
    if (RESERVED_NAMES.has(key)) fail(`ops[${index}].${field} uses the reserved key "${key}"`);
  }
}

function opOf(raw: unknown, index: number): Op {
  if (!isPlainObject(raw)) fail(`ops[${index}] must be an object`);
  const { op, coll, id } = raw;
  if (op !== 'set' && op !== 'patch' && op !== 'del') {
    fail(`ops[${index}].op must be "set", "patch" or "del"`);
  }
  if (typeof coll !== 'string' || !COLLECTION_PATTERN.test(coll)) {
    fail(`ops[${index}].coll must be 1-64 characters of A-Z a-z 0-9 _ -`);
  }
  if (typeof id !== 'string' || !ENTITY_ID_PATTERN.test(id)) {
    fail(`ops[${index}].id must be 1-128 characters of A-Z a-z 0-9 _ . : -`);
  }
  if (RESERVED_NAMES.has(coll)) fail(`ops[${index}].coll "${coll}" is a reserved name`);
  if (RESERVED_NAMES.has(id)) fail(`ops[${index}].id "${id}" is a reserved name`);
  const kind: Op['op'] = op;
  switch (kind) {
    case 'del':
      return { op: kind, coll, id };
    case 'set':
      return { op: kind, coll, id, value: entityOf(raw.value, 'value', index) };
    case 'patch':
      return { op: kind, coll, id, fields: entityOf(raw.fields, 'fields', index) };
    default:
      return unhandled(kind, 'op kind');
  }
}

/** The `value` of a set or the `fields` of a patch: a JSON object within the entity limits. */
function entityOf(raw: unknown, field: 'value' | 'fields', index: number): JsonObject {
  if (!isPlainObject(raw)) fail(`ops[${index}].${field} must be a JSON object`);
  checkKeys(raw, field, index);
  const problem = entityProblem(raw as JsonObject);
  if (problem) fail(`ops[${index}].${field}: ${problem}`);
  return raw as JsonObject;
}

function isValidCseq(cseq: unknown): cseq is number {
  return typeof cseq === 'number' && Number.isInteger(cseq) && cseq >= 1 && cseq <= MAX_CSEQ;
}

function presenceStateOf(value: unknown, field: string, allowNull: boolean): JsonObject | null {
  if (value === null && allowNull) return null;
  if (!isPlainObject(value)) fail(`"${field}" must be a JSON object${allowNull ? ' or null' : ''}`);
  if (!withinDepth(value, MAX_ENTITY_DEPTH)) {
    fail(`"${field}" may be at most ${MAX_ENTITY_DEPTH} levels deep`);
  }
  if (jsonBytes(value) > MAX_PRESENCE_BYTES) {
    fail(`"${field}" may be at most ${MAX_PRESENCE_BYTES} bytes of JSON`);
  }
  return value as JsonObject;
}

function messageOf(raw: Record<string, unknown>): ClientMessage {
  const ref = raw.ref as string | undefined;
  const withRef = <T extends object>(msg: T): T => (ref === undefined ? msg : { ...msg, ref });
  switch (raw.type) {
    case 'ping':
      return withRef({ type: 'ping' as const });
    case 'join': {
      const doc = docOf(raw);
      const msg: ClientMessage = { type: 'join', doc };
      if (raw.since !== undefined) {
        const since = raw.since;
        if (typeof since !== 'number' || !Number.isSafeInteger(since) || since < 0) {
          fail('"since" must be a non-negative integer');
        }
        msg.since = since;
      }
      if (raw.epoch !== undefined) {
        if (typeof raw.epoch !== 'string' || raw.epoch.length > MAX_EPOCH_LENGTH) {
          fail(`"epoch" must be a string of at most ${MAX_EPOCH_LENGTH} characters`);
        }
        msg.epoch = raw.epoch;
      }
      if (raw.presence !== undefined) {
        msg.presence = presenceStateOf(raw.presence, 'presence', false) as JsonObject;
      }
      return withRef(msg);
    }
    case 'leave':
      return withRef({ type: 'leave' as const, doc: docOf(raw) });
    case 'op': {
      const doc = docOf(raw);
      const cseq = raw.cseq;
      if (!isValidCseq(cseq)) fail('"cseq" must be a positive integer of at most 2^53 - 1');
      const ops = raw.ops;
      if (!Array.isArray(ops) || ops.length < 1 || ops.length > MAX_OPS_PER_MESSAGE) {
        fail(`"ops" must be an array of 1 to ${MAX_OPS_PER_MESSAGE} ops`);
      }
      return withRef({ type: 'op' as const, doc, cseq, ops: ops.map(opOf) });
    }
    case 'presence': {
      const doc = docOf(raw);
      if (!('state' in raw)) fail('"state" is required (a JSON object, or null to clear)');
      return withRef({
        type: 'presence' as const,
        doc,
        state: presenceStateOf(raw.state, 'state', true),
      });
    }
    case undefined:
      return fail('"type" is required');
    default:
      // Only a string is quoted back: String() of a deeply nested array recurses
      // (Array.prototype.join) and would overflow the stack.
      return fail(
        typeof raw.type === 'string'
          ? `unknown message "type" ${JSON.stringify(raw.type.slice(0, 64))}; expected join, leave, op, presence or ping`
          : '"type" must be a string: join, leave, op, presence or ping',
      );
  }
}

/** The `doc`, `cseq` and `ref` an error reply may echo: each only when it is itself valid. */
function echoOf(raw: Record<string, unknown>): Pick<Rejection, 'doc' | 'cseq' | 'ref'> {
  const echo: Pick<Rejection, 'doc' | 'cseq' | 'ref'> = {};
  if (typeof raw.doc === 'string' && DOC_ID_PATTERN.test(raw.doc)) echo.doc = raw.doc;
  if (isValidCseq(raw.cseq)) echo.cseq = raw.cseq;
  if (typeof raw.ref === 'string' && raw.ref.length <= MAX_REF_LENGTH) echo.ref = raw.ref;
  return echo;
}

/**
 * What a refusal of a frame that was not validated (a dropped message) may
 * echo, so that the client knows which op message to send again. Empty for
 * a frame that is not a JSON object.
 */
export function echoFieldsOf(text: string): Pick<Rejection, 'doc' | 'cseq' | 'ref'> {
  try {
    const raw: unknown = JSON.parse(text);
    return isPlainObject(raw) ? echoOf(raw) : {};
  } catch {
    return {};
  }
}

/**
 * Parses and validates one text frame. Hand-written checks (no schema
 * compilation, no per-message allocation beyond the parsed object): this runs
 * for every frame a gateway receives.
 */
export function parseClientMessage(text: string): ParseResult {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return { ok: false, error: { code: 'BAD_REQUEST', message: 'the frame is not valid JSON' } };
  }
  if (!isPlainObject(raw)) {
    return {
      ok: false,
      error: { code: 'BAD_REQUEST', message: 'a message must be a JSON object' },
    };
  }
  const error: Rejection = { code: 'BAD_REQUEST', message: '' };
  // Echo doc and cseq only when they are themselves valid.
  if (typeof raw.doc === 'string' && DOC_ID_PATTERN.test(raw.doc)) error.doc = raw.doc;
  if (isValidCseq(raw.cseq)) error.cseq = raw.cseq;
  const ref = raw.ref;
  if (ref !== undefined) {
    if (typeof ref !== 'string' || ref.length > MAX_REF_LENGTH) {
      error.message = `"ref" must be a string of at most ${MAX_REF_LENGTH} characters`;
      return { ok: false, error };
    }
    error.ref = ref;
  }
  if (mayHoldLoneSurrogate(text) && holdsLoneSurrogate(raw)) {
    // The answer echoes a ref only when the ref itself is text.
    if (typeof ref === 'string' && holdsLoneSurrogate(ref)) delete error.ref;
    error.message =
      'the message holds a string that is not valid Unicode (a lone UTF-16 surrogate escape such as \\ud800): send surrogates in pairs';
    return { ok: false, error };
  }
  try {
    return { ok: true, message: messageOf(raw) };
  } catch (err) {
    if (!(err instanceof Invalid)) throw err;
    error.message = err.message;
    return { ok: false, error };
  }
}
