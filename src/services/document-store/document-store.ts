import type { StoredSnapshot } from '../../document/stored-snapshot';

export type { StoredSnapshot };

export type StoreHealth = { ok: true } | { ok: false; reason: string };

/**
 * Durable storage of document snapshots, beside the live session in Redis or
 * memory. Every implementation keeps one snapshot per document and lets it
 * only move forward: `save` is conditional on `seq`, so a slow or repeated
 * write can never replace a newer snapshot.
 */
export interface DocumentStore {
  /** What backs it, for logs and health: `embedded`, `postgres` or `http`. */
  readonly kind: DocumentStoreKind;
  /**
   * The stored snapshot of `doc`, or null when the store has never held it
   * (a new document). Rejects when the store cannot answer: a caller must
   * never take a failed read for a new document and start it empty.
   */
  load(doc: string): Promise<StoredSnapshot | null>;
  /**
   * Stores `snapshot` unless the store already holds this seq or a newer one.
   * Resolves true when it was written, false when the stored one was at least
   * as new: either way the store then holds `snapshot.seq` or later. Rejects
   * when the store cannot answer (nothing is known to be stored).
   */
  save(doc: string, snapshot: StoredSnapshot): Promise<boolean>;
  /**
   * `save` of several documents (each at most once) in one round trip, each
   * conditional on its own seq. Absent where the store has no such request
   * (the HTTP contract stores one document per request).
   */
  saveMany?(snapshots: ReadonlyArray<{ doc: string; snapshot: StoredSnapshot }>): Promise<void>;
  /** Whether the store answers now; the reason names what failed. */
  health(): Promise<StoreHealth>;
  /** Releases connections and files. Idempotent. */
  close(): Promise<void>;
}

export type DocumentStoreKind = 'embedded' | 'postgres' | 'http';

/**
 * The store could not answer. `retryable` is false for answers that will not
 * change by trying again (a refused secret, a malformed stored document).
 */
export class DocumentStoreError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'DocumentStoreError';
  }
}
