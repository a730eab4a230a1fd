import type { Logger } from 'pino';
import type { DocumentStore, StoredSnapshot } from './document-store';
import { backoffDelay, type BackoffPolicy } from './retry';

export interface SaveSchedulerOptions {
  store: Pick<DocumentStore, 'save'>;
  /** The document's current snapshot; null when this process no longer has the document. */
  readSnapshot(doc: string): Promise<StoredSnapshot | null>;
  /** The store now holds every event of `doc` up to `seq` (record savedSeq, announce `saved`). */
  onSaved(doc: string, seq: number): void;
  /** Quiet time before a document's snapshot is written (STORE_DEBOUNCE_MS). */
  debounceMs: number;
  /** Longest wait of an edit for its snapshot while edits keep coming (STORE_MAX_DELAY_MS). */
  maxDelayMs: number;
  /** Snapshots written at once. */
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

interface PendingDocument {
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

/**
 * Decides when each document's snapshot is written: once the document has
 * been quiet for `debounceMs`, and at least every `maxDelayMs` while edits
 * keep coming. One write per document at a time; at most `concurrency`
 * overall. When the store fails, every pending document waits and one probe
 * retries with backoff, so an outage costs one attempt per backoff step (not
 * one per document) and one log line; the first success releases them all.
 */
export class SaveScheduler {
  private readonly pending = new Map<string, PendingDocument>();
  /** Documents due for a write, oldest first (Set keeps insertion order). */
  private readonly ready = new Set<string>();
  private running = 0;
  private probeTimer: NodeJS.Timeout | null = null;
  private failuresInRow = 0;
  private flushing = false;
  private closed: Promise<string[]> | undefined;
  private idleWaiters: Array<() => void> = [];
  private readonly figures: Omit<SaveSchedulerStats, 'pendingDocuments' | 'oldestUnsavedAgeMs'> = {
    failures: 0,
    saves: 0,
    lastLatencyMs: 0,
    outage: null,
  };

  constructor(private readonly options: SaveSchedulerOptions) {}

  /** `doc` reached `seq` (an applied event); its snapshot is due later. Ignored after close. */
  notify(doc: string, seq: number): void {
    if (this.closed && !this.flushing) return;
    const now = Date.now();
    let entry = this.pending.get(doc);
    if (!entry) {
      entry = {
        doc,
        latestSeq: seq,
        dirtySince: now,
        lastEditAt: now,
        editedDuringSaveAt: null,
        saving: false,
        timer: null,
      };
      this.pending.set(doc, entry);
    } else {
      entry.latestSeq = Math.max(entry.latestSeq, seq);
      entry.lastEditAt = now;
      if (entry.saving) entry.editedDuringSaveAt ??= now;
    }
    if (!entry.saving && !this.ready.has(doc)) this.arm(entry);
  }

  /** Whether `doc` has edits the store does not hold yet: such a document must not expire. */
  hasUnsaved(doc: string): boolean {
    return this.pending.has(doc);
  }

  stats(): SaveSchedulerStats {
    let oldest = Infinity;
    for (const entry of this.pending.values()) oldest = Math.min(oldest, entry.dirtySince);
    return {
      ...this.figures,
      pendingDocuments: this.pending.size,
      oldestUnsavedAgeMs: oldest === Infinity ? 0 : Date.now() - oldest,
    };
  }

  /** Writes every pending snapshot now; resolves once none is pending (waits out an outage). */
  flush(): Promise<void> {
    for (const entry of this.pending.values()) {
      if (!entry.saving) this.makeReady(entry);
    }
    return this.whenIdle();
  }

  /**
   * Stops scheduling after writing every pending snapshot, waiting at most
   * `deadlineMs` for a failing store. Resolves to the documents left unsaved
   * (logged). Idempotent.
   */
  close(deadlineMs: number): Promise<string[]> {
    return (this.closed ??= this.closeOnce(deadlineMs));
  }

  private async closeOnce(deadlineMs: number): Promise<string[]> {
    this.flushing = true;
    let deadline: NodeJS.Timeout | undefined;
    await Promise.race([
      this.flush(),
      new Promise<void>((resolve) => (deadline = setTimeout(resolve, deadlineMs))),
    ]);
    clearTimeout(deadline);
    this.flushing = false;
    if (this.probeTimer) clearTimeout(this.probeTimer);
    for (const entry of this.pending.values()) if (entry.timer) clearTimeout(entry.timer);
    const unsaved = [...this.pending.keys()];
    if (unsaved.length > 0) {
      this.options.log.error(
        {
          unsaved: unsaved.length,
          docs: unsaved.slice(0, 20),
          reason: this.figures.outage?.reason,
        },
        'stopping with document snapshots not stored: their latest edits are only in Redis or memory',
      );
    }
    return unsaved;
  }

  private arm(entry: PendingDocument): void {
    if (entry.timer) clearTimeout(entry.timer);
    const due = this.flushing
      ? 0
      : Math.min(
          entry.lastEditAt + this.options.debounceMs,
          entry.dirtySince + this.options.maxDelayMs,
        );
    entry.timer = setTimeout(() => this.makeReady(entry), Math.max(0, due - Date.now()));
  }

  private makeReady(entry: PendingDocument): void {
    if (entry.timer) clearTimeout(entry.timer);
    entry.timer = null;
    this.ready.add(entry.doc);
    this.pump();
  }

  private pump(): void {
    if (this.figures.outage) {
      // Only the probe writes during an outage.
      if (!this.probeTimer && this.running === 0 && this.ready.size > 0) {
        const delay = backoffDelay(this.options.retry, this.failuresInRow, this.options.random);
        this.probeTimer = setTimeout(() => {
          this.probeTimer = null;
          this.startNext();
        }, delay);
      }
      return;
    }
    while (this.running < this.options.concurrency && this.ready.size > 0) this.startNext();
  }

  private startNext(): void {
    const doc = this.ready.values().next().value;
    if (doc === undefined) return;
    this.ready.delete(doc);
    const entry = this.pending.get(doc);
    if (entry) void this.save(entry);
  }

  private async save(entry: PendingDocument): Promise<void> {
    this.running++;
    entry.saving = true;
    entry.editedDuringSaveAt = null;
    const latestAtStart = entry.latestSeq;
    let outcome: { snapshot: StoredSnapshot | null } | { err: unknown };
    let started = 0;
    try {
      const snapshot = await this.options.readSnapshot(entry.doc);
      if (snapshot) {
        started = Date.now();
        await this.options.store.save(entry.doc, snapshot);
        this.measure(Date.now() - started, true);
      }
      outcome = { snapshot };
    } catch (err) {
      if (started > 0) this.measure(Date.now() - started, false);
      outcome = { err };
    }
    entry.saving = false;
    this.running--;
    if ('err' in outcome) this.failed(entry, outcome.err);
    else if (outcome.snapshot) this.stored(entry, outcome.snapshot.seq, latestAtStart);
    else this.gone(entry);
    this.pump();
    this.checkIdle();
  }

  private stored(entry: PendingDocument, seq: number, latestAtStart: number): void {
    this.figures.saves++;
    this.failuresInRow = 0;
    const outage = this.figures.outage;
    if (outage) {
      this.figures.outage = null;
      this.options.log.info(
        { outageMs: Date.now() - outage.since, pendingDocuments: this.pending.size },
        'document store recovered: storing the pending snapshots',
      );
    }
    try {
      this.options.onSaved(entry.doc, seq);
    } catch (err) {
      this.options.log.error({ doc: entry.doc, err }, 'saved-snapshot callback failed');
    }
    if (entry.latestSeq <= seq) {
      this.pending.delete(entry.doc);
      return;
    }
    // Edits came during the write: the oldest unsaved one is the first of
    // them, unless the snapshot read missed edits notified before it.
    if (seq >= latestAtStart) entry.dirtySince = entry.editedDuringSaveAt ?? Date.now();
    this.arm(entry);
  }

  private gone(entry: PendingDocument): void {
    this.pending.delete(entry.doc);
    this.options.log.warn(
      { doc: entry.doc, seq: entry.latestSeq },
      'document gone from this process before its snapshot was stored',
    );
  }

  private failed(entry: PendingDocument, err: unknown): void {
    this.figures.failures++;
    this.failuresInRow++;
    const reason = (err as Error).message;
    if (!this.figures.outage) {
      this.figures.outage = { since: Date.now(), reason };
      this.options.log.error(
        { reason, pendingDocuments: this.pending.size },
        'document store unavailable: snapshots stay pending and are retried with backoff',
      );
    } else {
      this.figures.outage.reason = reason;
    }
    this.ready.add(entry.doc);
  }

  private measure(ms: number, ok: boolean): void {
    this.figures.lastLatencyMs = ms;
    this.options.onSaveLatency?.(ms, ok);
  }

  private whenIdle(): Promise<void> {
    if (this.pending.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private checkIdle(): void {
    if (this.pending.size > 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
