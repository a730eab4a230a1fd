import type { Queue } from 'bullmq';
import { redisFailureKind } from '../../redis/errors';

/** How long an add in doubt is tried again under its job id, and the spacing of the tries (ms). */
const IN_DOUBT_RETRY_MS = 30_000;
const IN_DOUBT_FIRST_DELAY_MS = 100;
const IN_DOUBT_MAX_DELAY_MS = 2000;

/** An add still in doubt after IN_DOUBT_RETRY_MS of tries. */
export class AddInDoubt extends Error {
  constructor(override readonly cause: unknown) {
    super(`still in doubt after ${IN_DOUBT_RETRY_MS} ms: ${(cause as Error).message}`);
  }
}

/**
 * A failed add that may have run: the connection went away or the answer
 * did not come in time. Replies such as OOM, READONLY or CLUSTERDOWN, and
 * commands never sent, certainly did not.
 */
export function inDoubt(err: unknown): boolean {
  const kind = redisFailureKind(err);
  if (kind === 'timeout') return true;
  if (kind === 'closed') return !/Stream isn't writeable/.test((err as Error).message);
  return false;
}

/**
 * Adds one job under the caller's id. An add in doubt (the connection
 * dropped, or no answer came in time) goes again under the same id until
 * Redis answers: BullMQ adds a job id only once, and a job that was added
 * and already applied comes back as duplicates of its ops, which the
 * apply's dedupe answers with their seqs. Still in doubt after
 * IN_DOUBT_RETRY_MS: throws AddInDoubt. A first attempt refused with a reply
 * that says nothing ran throws that error: certainly not queued.
 */
export async function addUntilAnswered(
  queue: Queue,
  jobId: string,
  data: unknown,
  onRetry: (err: unknown, retryMs: number) => void,
): Promise<void> {
  const started = Date.now();
  let delay = IN_DOUBT_FIRST_DELAY_MS;
  for (let attempt = 1; ; attempt++) {
    try {
      await queue.add('ops', data, { jobId, removeOnComplete: true, removeOnFail: true });
      return;
    } catch (err) {
      // After a doubt, any failure stays in doubt: the earlier attempt may have run.
      if (attempt === 1 && !inDoubt(err)) throw err;
      if (Date.now() - started > IN_DOUBT_RETRY_MS) throw new AddInDoubt(err);
      onRetry(err, delay);
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, IN_DOUBT_MAX_DELAY_MS);
    }
  }
}
