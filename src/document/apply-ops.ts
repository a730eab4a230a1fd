import { entityProblem } from '../protocol/validate';
import { unhandled } from '../protocol/exhaustive';
import type { DocState, JsonObject, Op } from '../protocol/messages';

/**
 * The op semantics of PROTOCOL.md section 2, shared by the server (memory
 * backend, tests) and the SDK (optimistic apply). The Redis backend applies
 * the same rules in Lua; the property tests hold both to this module.
 */

/**
 * Own-property read. A document state and its collections are plain objects,
 * so `state[name]` would find Object.prototype members for names such as
 * `toString` or `valueOf`, which are valid collection names and entity ids.
 */
function own<T>(obj: Record<string, T> | undefined, key: string): T | undefined {
  return obj !== undefined && Object.hasOwn(obj, key) ? obj[key] : undefined;
}

/** Own-property write; `__proto__` (rejected by the validator) would set the prototype. */
function put<T>(obj: Record<string, T>, key: string, value: T): void {
  if (key === '__proto__') {
    Object.defineProperty(obj, key, {
      value,
      writable: true,
      enumerable: true,
      configurable: true,
    });
  } else obj[key] = value;
}

function setEntity(state: DocState, coll: string, id: string, entity: JsonObject): void {
  let entities = own(state, coll);
  if (entities === undefined) {
    entities = {};
    put(state, coll, entities);
  }
  put(entities, id, entity);
}

function deleteEntity(state: DocState, coll: string, id: string): void {
  const entities = own(state, coll);
  if (entities === undefined || !Object.hasOwn(entities, id)) return;
  delete entities[id];
  if (Object.keys(entities).length === 0) delete state[coll];
}

/** Applies one op in place. Never fails: limits are checked by `applyMessage`. */
export function applyOp(state: DocState, op: Op): void {
  switch (op.op) {
    case 'set':
      setEntity(state, op.coll, op.id, op.value);
      return;
    case 'del':
      deleteEntity(state, op.coll, op.id);
      return;
    case 'patch': {
      const current = own(own(state, op.coll), op.id);
      if (current !== undefined) setEntity(state, op.coll, op.id, patched(current, op.fields));
      return;
    }
    default:
      unhandled(op, 'op kind');
  }
}

export function applyOps(state: DocState, ops: readonly Op[]): void {
  for (const op of ops) applyOp(state, op);
}

/** A shallow merge where a `null` field removes that field. */
export function patched(entity: JsonObject, fields: JsonObject): JsonObject {
  const next: JsonObject = { ...entity };
  for (const [key, value] of Object.entries(fields)) {
    if (value === null) delete next[key];
    else put(next, key, value);
  }
  return next;
}

/** One entity an op message changes: its value before and after (undefined: absent). */
export interface StagedChange {
  coll: string;
  id: string;
  before: JsonObject | undefined;
  after: JsonObject | undefined;
}

/**
 * The final value of every entity the ops of one op message touch, without
 * changing `state`; or the reason for a refusal when a patch would make an
 * entity break the size or depth limit. Staging first lets a refusal found
 * at the last op change nothing.
 */
export function stageMessage(
  state: DocState,
  ops: readonly Op[],
): { changes: StagedChange[] } | { refusal: string } {
  const staged = new Map<string, StagedChange>();
  for (const [index, op] of ops.entries()) {
    const key = `${op.coll}\u0000${op.id}`;
    const known = staged.get(key);
    const before = known ? known.after : own(own(state, op.coll), op.id);
    let entity: JsonObject | undefined;
    if (op.op === 'set') entity = op.value;
    else if (op.op === 'del') entity = undefined;
    else {
      if (!before) continue;
      entity = patched(before, op.fields);
      const problem = entityProblem(entity);
      if (problem)
        return { refusal: `ops[${index}] would make ${op.coll}/${op.id} too big: ${problem}` };
    }
    if (known) known.after = entity;
    else staged.set(key, { coll: op.coll, id: op.id, before, after: entity });
  }
  return { changes: [...staged.values()] };
}

/** Writes staged changes into `state`. */
export function commitStaged(state: DocState, changes: readonly StagedChange[]): void {
  for (const { coll, id, after } of changes) {
    if (after) setEntity(state, coll, id, after);
    else deleteEntity(state, coll, id);
  }
}

/**
 * Applies the ops of one op message atomically: either all of them, or none
 * when a patch would make an entity break the size or depth limit. Returns
 * the reason for a refusal, or undefined when applied.
 */
export function applyMessage(state: DocState, ops: readonly Op[]): string | undefined {
  const staged = stageMessage(state, ops);
  if ('refusal' in staged) return staged.refusal;
  commitStaged(state, staged.changes);
  return undefined;
}

export function emptyState(): DocState {
  return {};
}

/** A deep copy, so a snapshot handed out cannot be changed by later applies. */
export function cloneState(state: DocState): DocState {
  return JSON.parse(JSON.stringify(state)) as DocState;
}
