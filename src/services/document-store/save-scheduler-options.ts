import type { Logger } from 'pino';
import type { DocumentStore, StoredSnapshot } from './document-store';
import type { BackoffPolicy } from './retry';

export interface SaveSchedulerOptions {
  store: Pick<DocumentStore, 'save' | 'saveMany'>;
  /** The document's current snapshot; null when this process no longer has the document. */
  readSnapshot(doc: string): Promise<StoredSnapshot | null>;
  /** The store now holds every event of `doc` up to `seq` (record savedSeq, announce `saved`). */
  onSaved(doc: string, seq: number): void;
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
