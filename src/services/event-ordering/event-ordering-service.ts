import type { Fence } from '../../document/fence';
import type { OpSubmission } from '../../document/op-submission';

/**
 * Applies a batch of one document's submissions, in order, and publishes the
 * outcomes. The ordering service guarantees that calls for one document never
 * overlap and follow submission order. Rejects with FencedError when the
 * caller's claim on the document was taken over (nothing was applied).
 */
export type BatchProcessor = (doc: string, batch: OpSubmission[], fence?: Fence) => Promise<void>;

/** The total order per document. */
export interface EventOrderingService {
  readonly mode: 'memory' | 'redis';
  /**
   * Puts one op message into its document's order. Resolves once it is
   * accepted (queued); rejects with UnavailableError when it cannot be.
   */
  submit(submission: OpSubmission): Promise<void>;
  /** Stops accepting, lets accepted work finish. Idempotent. */
  close(): Promise<void>;
}
