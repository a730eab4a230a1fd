/** Identifier rules and fixed limits of PROTOCOL.md sections 1-3. */
export const CLIENT_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
export const DOC_ID_PATTERN = /^[A-Za-z0-9_.:-]{1,128}$/;
export const COLLECTION_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
export const ENTITY_ID_PATTERN = /^[A-Za-z0-9_.:-]{1,128}$/;

/** Names that would reach Object.prototype when used as a key. */
export const RESERVED_NAMES: ReadonlySet<string> = new Set([
  '__proto__',
  'constructor',
  'prototype',
]);

export const MAX_OPS_PER_MESSAGE = 100;
/** Largest entity, as UTF-8 JSON bytes. */
export const MAX_ENTITY_BYTES = 16 * 1024;
/** Deepest entity: the entity object itself is level 1. */
export const MAX_ENTITY_DEPTH = 32;
export const MAX_REF_LENGTH = 64;
/** Largest presence state, as UTF-8 JSON bytes. */
export const MAX_PRESENCE_BYTES = 4 * 1024;
export const MAX_EPOCH_LENGTH = 64;
/** cseq is a positive integer of at most 2^53 - 1. */
export const MAX_CSEQ = Number.MAX_SAFE_INTEGER;
