import { Counter, Gauge, Histogram } from 'prom-client';
import type { Metrics } from './metrics';

/** The figures of a save scheduler the gauges read (SaveSchedulerStats). */
export interface UnsavedFigures {
  pendingDocuments: number;
  oldestUnsavedAgeMs: number;
}

/** The document store's metrics, registered only in processes that have a store. */
export interface StoreMetrics {
  /** One store write's duration in milliseconds, and whether it succeeded. */
  observeSave(ms: number, ok: boolean): void;
}

export function trackDocumentStore(metrics: Metrics, figures: () => UnsavedFigures): StoreMetrics {
  const registers = [metrics.registry];
  new Gauge({
    name: 'flow_store_pending_documents',
    help: 'Documents with applied edits not yet written to the document store',
    registers,
    collect() {
      this.set(figures().pendingDocuments);
    },
  });
  new Gauge({
    name: 'flow_store_oldest_unsaved_seconds',
    help: 'Age of the oldest applied edit not yet written to the document store (0 when none); grows while the store is down',
    registers,
    collect() {
      this.set(figures().oldestUnsavedAgeMs / 1000);
    },
  });
  const failures = new Counter({
    name: 'flow_store_save_failures_total',
    help: 'Snapshot writes to the document store that failed (they are retried)',
    registers,
  });
  const latency = new Histogram({
    name: 'flow_store_save_seconds',
    help: 'Duration of snapshot writes to the document store, failed ones included',
    labelNames: ['outcome'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers,
  });
  return {
    observeSave(ms, ok) {
      latency.observe({ outcome: ok ? 'ok' : 'failed' }, ms / 1000);
      if (!ok) failures.inc();
    },
  };
}
