import type { SnapshotRead, StoredSnapshot } from '../../document/stored-snapshot';
import { backoffDelay } from './retry';
import {
  newPendingDocument,
  SAVE_BATCH,
  type PendingDocument,
  type SaveSchedulerOptions,
  type SaveSchedulerStats,
} from './save-scheduler-options';

export type { SaveSchedulerOptions, SaveSchedulerStats } from './save-scheduler-options';

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
  private pumpSoon: NodeJS.Immediate | undefined;
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
      entry = newPendingDocument(doc, seq, now);
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
    // Documents that fall due together (their timers fire in one turn) go in one batch.
    if (this.pumpSoon) return;
    this.pumpSoon = setImmediate(() => {
      this.pumpSoon = undefined;
      this.pump();
    });
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

  /** Starts one write of the next ready documents: one during an outage (the probe). */
  private startNext(): void {
    const most = this.figures.outage || !this.options.store.saveMany ? 1 : SAVE_BATCH;
    const entries: PendingDocument[] = [];
    for (const doc of this.ready) {
      if (entries.length >= most) break;
      this.ready.delete(doc);
      const entry = this.pending.get(doc);
      if (entry) entries.push(entry);
    }
    if (entries.length > 0) void this.save(entries);
  }

  private async save(entries: PendingDocument[]): Promise<void> {
    this.running++;
    const latestAtStart = entries.map((entry) => {
      entry.saving = true;
      entry.editedDuringSaveAt = null;
      return entry.latestSeq;
    });
    let outcome: { reads: SnapshotRead[] } | { err: unknown };
    let started = 0;
    try {
      const reads = await Promise.all(entries.map((e) => this.options.readSnapshot(e.doc)));
      const writes = entries.flatMap((entry, i) => {
        const read = reads[i];
        return read?.kind === 'snapshot' ? [{ doc: entry.doc, snapshot: read.snapshot }] : [];
      });
      if (writes.length > 0) {
        started = Date.now();
        await this.write(writes);
        this.measure(Date.now() - started, true);
      }
      outcome = { reads };
    } catch (err) {
      if (started > 0) this.measure(Date.now() - started, false);
      outcome = { err };
    }
    for (const entry of entries) entry.saving = false;
    this.running--;
    if ('err' in outcome) this.failed(entries, outcome.err);
    else {
      const { reads } = outcome;
      entries.forEach((entry, i) => this.settle(entry, reads[i], latestAtStart[i] ?? 0));
    }
    this.pump();
    this.checkIdle();
  }

  private settle(entry: PendingDocument, read: SnapshotRead | undefined, latestAtStart: number) {
    switch (read?.kind) {
      case 'snapshot':
        this.stored(entry, read.snapshot, latestAtStart);
        break;
      case 'stored':
        this.covered(entry, read.seq, latestAtStart);
        break;
      case 'busy':
        // Another process writes it now, maybe without this process's latest edits.
        if (entry.timer) clearTimeout(entry.timer);
        entry.timer = setTimeout(() => this.makeReady(entry), this.options.debounceMs);
        break;
      default:
        this.gone(entry);
    }
  }

  private async write(writes: Array<{ doc: string; snapshot: StoredSnapshot }>): Promise<void> {
    const { store } = this.options;
    if (store.saveMany) await store.saveMany(writes);
    else for (const { doc, snapshot } of writes) await store.save(doc, snapshot);
  }

  private stored(entry: PendingDocument, snapshot: StoredSnapshot, latestAtStart: number): void {
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
      this.options.onSaved(entry.doc, snapshot.seq, snapshot.epoch);
    } catch (err) {
      this.options.log.error({ doc: entry.doc, err }, 'saved-snapshot callback failed');
    }
    this.covered(entry, snapshot.seq, latestAtStart);
  }

  /** The store holds `doc` up to `seq`: done, unless edits came after. */
  private covered(entry: PendingDocument, seq: number, latestAtStart: number): void {
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

  /** One failed write (of one or several documents): they all wait for the next attempt. */
  private failed(entries: PendingDocument[], err: unknown): void {
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
    for (const entry of entries) this.ready.add(entry.doc);
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
