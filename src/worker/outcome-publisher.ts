import type { Logger } from 'pino';
import type { Metrics } from '../observability/metrics';
import type { ApplyOutcome, OpSubmission } from '../document/op-submission';
import type { WebSocketManager } from '../services/websocket-manager/websocket-manager';

export interface PublisherDeps {
  websockets: WebSocketManager;
  log: Logger;
  /** Applied events, and per batch the seconds its oldest op waited between gateway and apply. */
  metrics?: Pick<Metrics, 'opsApplied' | 'orderingLag'>;
  /** Told the highest seq each batch applied (the document store's save scheduler). */
  onApplied?: (doc: string, seq: number) => void;
  /** Called with every batch's outcomes before they are published: this process's own delivery. */
  onOutcomes?: (doc: string, outcomes: ApplyOutcome[]) => void;
}

/** Sends a batch's outcomes to the gateways (and counts them). */
export type OutcomePublisher = (
  doc: string,
  outcomes: ApplyOutcome[],
  batch: readonly OpSubmission[],
) => Promise<void>;

/**
 * What follows every apply, in process or in the take script: count, tell
 * this process's own gateway, publish on the document's channel. Publishing
 * after the apply is safe: pub/sub is at most once anyway, and a gateway
 * that sees a seq gap (or an op that stays unacked) recovers the events from
 * the history, so a failed publish is logged, not retried.
 */
export function createOutcomePublisher(deps: PublisherDeps): OutcomePublisher {
  return async (doc, outcomes, batch) => {
    let applied = 0;
    let latestSeq = 0;
    for (const outcome of outcomes) {
      if (outcome.kind !== 'applied') continue;
      applied++;
      latestSeq = Math.max(latestSeq, outcome.seq);
    }
    if (applied > 0) {
      deps.metrics?.opsApplied.inc(applied);
      deps.onApplied?.(doc, latestSeq);
    }
    const oldest = batch[0]?.acceptedAt;
    if (oldest !== undefined)
      deps.metrics?.orderingLag.observe(Math.max(0, Date.now() - oldest) / 1000);
    deps.onOutcomes?.(doc, outcomes);
    try {
      await deps.websockets.publish({ kind: 'outcomes', doc, outcomes });
    } catch (err) {
      deps.log.warn({ doc, err: (err as Error).message }, 'publishing outcomes failed');
    }
  };
}
