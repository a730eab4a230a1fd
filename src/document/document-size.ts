import type { DocState, JsonObject } from '../protocol/messages';

/** The default of DOC_MAX_BYTES: a document's state as JSON may be at most this long. */
export const DEFAULT_DOC_MAX_BYTES = 4 * 1024 * 1024;

/** UTF-8 length of a string, without Buffer (the SDK runs in browsers too). */
export function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) bytes += 1;
    else if (code < 0x800) bytes += 2;
    else if (code >= 0xd800 && code <= 0xdbff) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}

/*
 * Sizes are kept as the state's JSON length minus one (0 when empty): each
 * entity costs its id, its JSON and 4 bytes ('"id":' and a comma), each
 * collection its name and 5 bytes ('"coll":{}' and a comma), and the
 * braces of the whole add one byte net of the last comma. The Redis apply
 * script counts the same way.
 */
const entityCost = (id: string, entity: JsonObject) =>
  utf8Length(id) + utf8Length(JSON.stringify(entity)) + 4;
const collectionCost = (coll: string) => utf8Length(coll) + 5;

/** The kept size of a whole state (see above); its JSON length is `max(2, 1 + size)`. */
export function stateSize(state: DocState): number {
  let size = 0;
  for (const [coll, entities] of Object.entries(state)) {
    const ids = Object.keys(entities);
    if (ids.length === 0) continue;
    size += collectionCost(coll);
    for (const id of ids) size += entityCost(id, entities[id] as JsonObject);
  }
  return size;
}

/** The JSON length of a state whose kept size is `size`. */
export const jsonBytesOf = (size: number) => (size === 0 ? 2 : 1 + size);

/**
 * The change of the kept size if `after` replaced the listed entities.
 * `before` and `after` give each touched entity's value (undefined: absent).
 */
export function sizeDelta(
  state: DocState,
  changes: ReadonlyArray<{ coll: string; id: string; before?: JsonObject; after?: JsonObject }>,
): number {
  let delta = 0;
  const counts = new Map<string, number>();
  for (const { coll, id, before, after } of changes) {
    if (before) delta -= entityCost(id, before);
    if (after) delta += entityCost(id, after);
    const change = (after ? 1 : 0) - (before ? 1 : 0);
    if (change !== 0) counts.set(coll, (counts.get(coll) ?? 0) + change);
  }
  for (const [coll, change] of counts) {
    const entities = Object.hasOwn(state, coll) ? state[coll] : undefined;
    const n = entities ? Object.keys(entities).length : 0;
    if (n === 0 && n + change > 0) delta += collectionCost(coll);
    if (n > 0 && n + change === 0) delta -= collectionCost(coll);
  }
  return delta;
}

export function tooLargeMessage(wouldBe: number, max: number): string {
  return `this op message would make the document ${wouldBe} bytes as JSON, over its limit of ${max} (DOC_MAX_BYTES); nothing was applied: delete or shrink entities first`;
}
