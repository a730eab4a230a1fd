import { createHash } from 'node:crypto';
import type { DocState, JsonValue } from '../protocol';

/**
 * JSON with object keys sorted at every level: two states that are equal as
 * maps give the same text whatever order their keys were inserted in (a
 * replica built by applying events and a snapshot read from Redis do differ
 * in key order).
 */
export function canonicalJson(value: JsonValue | DocState): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v)).join(',')}]`;
  const keys = Object.keys(value).sort();
  const parts = keys.map(
    (key) =>
      `${JSON.stringify(key)}:${canonicalJson((value as Record<string, JsonValue>)[key] as JsonValue)}`,
  );
  return `{${parts.join(',')}}`;
}

/** A short fingerprint of a document state, equal exactly when the states are equal. */
export function stateDigest(state: DocState): string {
  return createHash('sha256').update(canonicalJson(state)).digest('base64url').slice(0, 22);
}
