import type { Logger } from 'pino';
import type { DocumentStore } from './document-store';
import type { SnapshotRead } from '../../document/stored-snapshot';
import type { BackoffPolicy } from './retry';

export interface SaveSchedulerOptions {
  store: Pick<DocumentStore, 'save' | 'saveMany'>;
  /**
   * The document's current snapshot to write, or why there is none: gone,
   * stored already, or being written by another process (tried again after
   * `debounceMs`).
   */
  readSnapshot(doc: string): Promise<SnapshotRead>;
  /**
   * This scheduler wrote `doc` up to `seq` of `epoch` (record savedSeq,
   * announce `saved`). Not called when another process had stored it.
   */
  onSaved(doc: string, seq: number, epoch: string): void;
  /** Quiet time before a document's snapshot is written (STORE_DEBOUNCE_MS). */
  debounceMs: number;
  /** Longest wait of an edit for its snapshot while edits keep coming (STORE_MAX_DELAY_MS). */
  maxDelayMs: number;
  /** Writes to the store at once (each of up to SAVE_BATCH snapshots where the store batches). */
  concurrency: number;
  /** Spacing of attempts while the store fails. */
  retry: BackoffPolicy;
  log: Pick<Logger, 'info' | 'warn' | 'error'>;
  /** Each store write's duration in milliseconds (failed ones too), for a histogram. */
  onSaveLatency?(ms: number, ok: boolean): void;
  random?: () => number;
}

/** Figures for /health and metrics. */
export interface SaveSchedulerStats {
  /** Documents with edits not yet in the store. */
  pendingDocuments: number;
  /** Milliseconds since the oldest edit not yet in the store; 0 when none. */
  oldestUnsavedAgeMs: number;
  /** Failed snapshot writes (or reads) since start. */
  failures: number;
  /** Snapshots stored since start. */
  saves: number;
  /** Duration of the latest store write, in milliseconds. */
  lastLatencyMs: number;
  /** Set while the store fails: since when (ms since the epoch) and the latest reason. */
  outage: { since: number; reason: string } | null;
}

/**
 * Snapshots in one write, where the store takes several at once (SQL): ten
 * thousand documents edited together are stored in a hundred statements
 * instead of ten thousand round trips.
 */
export const SAVE_BATCH = 100;

export interface PendingDocument {
  doc: string;
  /** Highest seq notified. */
  latestSeq: number;
  /** When the oldest edit not yet covered by a stored snapshot was notified. */
  dirtySince: number;
  lastEditAt: number;
  /** While a save runs: when the first edit after its start came. */
  editedDuringSaveAt: number | null;
  saving: boolean;
  timer: NodeJS.Timeout | null;
}

/** A document first edited (notified) at `now`, up to `seq`. */
export function newPendingDocument(doc: string, seq: number, now: number): PendingDocument {
  return {
    doc,
    latestSeq: seq,
    dirtySince: now,
    lastEditAt: now,
    editedDuringSaveAt: null,
    saving: false,
    timer: null,
  };
}
