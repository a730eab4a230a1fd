import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { ProtocolError, UnavailableError, type ErrorCode } from '../protocol';
import { type CollaborationService } from '../services/collaboration/collaboration-service';
import { FencedError, type Fence } from '../document/fence';
import { type ApplyOutcome, type OpSubmission } from '../document/op-submission';
import { createOutcomePublisher, type PublisherDeps } from './outcome-publisher';
import type { BatchProcessor } from '../services/event-ordering/event-ordering-service';

export interface ProcessorDeps extends PublisherDeps {
  collaboration: CollaborationService;
}

/**
 * The step every ordering backend runs for a batch: apply atomically, then
 * publish the outcomes on the document's channel. Publishing after the apply
 * is safe: pub/sub is at most once anyway, and a gateway that sees a seq gap
 * recovers the missing events from the history.
 */
export function createDocumentProcessor(
  deps: ProcessorDeps,
  retry: RetryPolicy = NO_RETRY,
): BatchProcessor {
  const publish = createOutcomePublisher(deps);
  return async (doc: string, batch: OpSubmission[], fence?: Fence) => {
    let outcomes: ApplyOutcome[];
    try {
      outcomes = await applyWithRetry(deps, retry, doc, batch, fence);
    } catch (err) {
      if (err instanceof FencedError) throw err;
      outcomes = failedOutcomes(doc, batch, err, deps.log);
    }
    await publish(doc, outcomes, batch);
  };
}

/**
 * How long a transient failure (Redis failing over, a connection being
 * re-established) is retried before the batch is refused with UNAVAILABLE.
 * Retrying is safe: the apply dedupes by (client, doc, cseq).
 */
export interface RetryPolicy {
  totalMs: number;
  initialDelayMs: number;
}

const NO_RETRY: RetryPolicy = { totalMs: 0, initialDelayMs: 0 };

async function applyWithRetry(
  deps: ProcessorDeps,
  retry: RetryPolicy,
  doc: string,
  batch: OpSubmission[],
  fence: Fence | undefined,
): Promise<ApplyOutcome[]> {
  const deadline = Date.now() + retry.totalMs;
  let delay = retry.initialDelayMs;
  for (;;) {
    try {
      return await deps.collaboration.applyBatch(doc, batch, fence);
    } catch (err) {
      const transient = err instanceof UnavailableError && !(err instanceof FencedError);
      if (!transient || Date.now() + delay > deadline) throw err;
      deps.log.warn(
        { doc, delayMs: delay, err: err.message },
        'apply failed transiently; retrying',
      );
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, 2000);
    }
  }
}

/** Turns a failed apply into one error per submission: nothing was applied. */
function failedOutcomes(
  doc: string,
  batch: OpSubmission[],
  err: unknown,
  log: Logger,
): ApplyOutcome[] {
  let code: ErrorCode = 'INTERNAL';
  let message: string;
  if (err instanceof ProtocolError) {
    code = err.code;
    message = err.message;
    log.warn({ doc, code, err: err.message }, 'apply refused');
  } else {
    const correlation = randomUUID();
    message = `internal error ${correlation}; nothing was applied; the operators can find it in the logs`;
    log.error({ doc, correlation, err }, 'apply failed');
  }
  return batch.map((sub) => ({
    kind: 'rejected' as const,
    doc,
    client: sub.client,
    cseq: sub.cseq,
    code,
    message,
    ...(sub.ref === undefined ? {} : { ref: sub.ref }),
  }));
}
