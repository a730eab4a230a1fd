import type { OpSubmission } from '../collaboration/collaboration-service';

/**
 * Applies a batch of one document's submissions, in order, and publishes the
 * outcomes. The ordering service guarantees that calls for one document never
 * overlap and follow submission order.
 */
export type BatchProcessor = (doc: string, batch: OpSubmission[]) => Promise<void>;

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
