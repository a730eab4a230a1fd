import type { Logger } from 'pino';
import type { FlowConfig } from '../config';
import type { Metrics } from '../observability/metrics';
import { trackDocumentStore } from '../observability/store-metrics';
import type { CollaborationService } from '../services/collaboration/collaboration-service';
import { SaveScheduler, type DocumentStore } from '../services/document-store';
import type { WebSocketManager } from '../services/websocket-manager/websocket-manager';
import type { CloseSteps } from './close-steps';

/** What the rest of the process sees of the document store once it is open. */
export interface DocumentSaving {
  store: DocumentStore;
  scheduler: SaveScheduler;
  /** `ok`, or why snapshots are not being stored (for /health). */
  check(): string;
}

/** Part of SHUTDOWN_DRAIN_MS kept for the steps after the snapshots (closing the store, Redis). */
const CLOSE_AFTER_SAVING_MS = 500;

/**
 * Schedules the snapshots of `collaboration`'s documents into `store`. On
 * close, pending snapshots are written before the store closes, within
 * SHUTDOWN_DRAIN_MS; what is left is logged by the scheduler.
 */
export function startDocumentSaving(
  config: FlowConfig,
  log: Logger,
  metrics: Metrics,
  steps: CloseSteps,
  store: DocumentStore,
  collaboration: CollaborationService,
  websockets: WebSocketManager,
): DocumentSaving {
  // The gauges read the scheduler only when scraped, after it exists.
  const storeMetrics = trackDocumentStore(metrics, () => saving.scheduler.stats());
  const saving: DocumentSaving = {
    store,
    scheduler: new SaveScheduler({
      store,
      readSnapshot: (doc) => collaboration.readForSave(doc),
      // Recorded (savedSeq, the TTL back, the saver lease released) before
      // the members hear of it, so that a join after `saved` reports it too.
      onSaved: (doc, seq, epoch) => {
        collaboration
          .recordSaved(doc, seq, epoch)
          .then(() => websockets.publish({ kind: 'saved', doc, seq }))
          .catch((err: unknown) =>
            log.warn(
              { doc, seq, err: (err as Error).message },
              'the snapshot is stored, but recording or announcing it failed; the next save records it',
            ),
          );
      },
      debounceMs: config.documentStore.debounceMs,
      maxDelayMs: config.documentStore.maxDelayMs,
      concurrency: config.documentStore.concurrency,
      retry: {
        initialMs: config.documentStore.retryDelayMs,
        maxMs: config.documentStore.retryMaxMs,
      },
      log,
      onSaveLatency: (ms, ok) => storeMetrics.observeSave(ms, ok),
    }),
    check() {
      const outage = saving.scheduler.stats().outage;
      return outage ? `degraded: snapshots are not being stored: ${outage.reason}` : 'ok';
    },
  };
  steps.add(() => store.close());
  const drainMs = Math.max(0, config.shutdown.drainMs - CLOSE_AFTER_SAVING_MS);
  steps.add(
    async () => {
      await saving.scheduler.close(drainMs);
    },
    drainMs + CLOSE_AFTER_SAVING_MS / 2,
  );
  return saving;
}
