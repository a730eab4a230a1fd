import type { Logger } from 'pino';
import type { WebSocketManager } from '../websocket-manager/websocket-manager';
import type { OutcomePublisher } from './document-runner';

export interface OutcomePublisherDeps {
  websockets: WebSocketManager;
  log: Logger;
  /** Called once per applied event, for metrics. */
  onApplied?: (count: number) => void;
  /** Seconds from a gateway accepting the oldest op of a batch to its apply. */
  onLag?: (seconds: number) => void;
}

/**
 * Publishes a worker's outcomes on the document's channel. A failed publish
 * is logged, not retried: applied events are in the history, and gateways
 * recover them when they see the gap or when an op stays unacked.
 */
export function createOutcomePublisher(deps: OutcomePublisherDeps): OutcomePublisher {
  return async (doc, outcomes, submissions) => {
    const applied = outcomes.filter((o) => o.kind === 'applied').length;
    if (applied > 0) deps.onApplied?.(applied);
    const oldest = submissions[0]?.acceptedAt;
    if (oldest !== undefined) deps.onLag?.(Math.max(0, Date.now() - oldest) / 1000);
    try {
      await deps.websockets.publish({ kind: 'outcomes', doc, outcomes });
    } catch (err) {
      deps.log.warn({ doc, err: (err as Error).message }, 'publishing outcomes failed');
    }
  };
}
