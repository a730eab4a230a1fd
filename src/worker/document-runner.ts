import type { Logger } from 'pino';
import type { ApplyOutcome, OpSubmission } from '../document/op-submission';
import type { RedisClient } from '../redis/connection';
import type { OrderingKeys } from '../redis/ordering-keys';
import { OrderingScripts } from '../services/event-ordering/lua';
import type { QueueConsumer } from './queue-consumer';
import type { MarkSeen } from './wake-message';

/**
 * What the runner does with each taken batch: publish its outcomes, or,
 * when the script only took it (`applied` false), apply it first.
 */
export type TakenBatchHandler = (
  doc: string,
  outcomes: ApplyOutcome[],
  submissions: OpSubmission[],
  applied: boolean,
) => Promise<void>;

export interface DocumentRunnerDeps {
  client: RedisClient;
  keys: OrderingKeys;
  consumer: QueueConsumer;
  publish: TakenBatchHandler;
  leaseMs: number;
  log: Logger;
  stopping: () => boolean;
  /** Whether other documents wait for a slot of this worker: a turn then ends without waiting for more. */
  othersWaiting: () => boolean;
  /** Loads a durable document Redis has no session of from the document store. */
  restore?: (doc: string) => Promise<void>;
}

/** How a worker's turn on a document ended. */
export type RunEnd =
  /** The queue is empty and unmarked (or nothing is marked); this worker still holds the claim until its lease ends. */
  | { kind: 'done'; heldUntil: number }
  /** No mark: another worker already emptied the queue. */
  | { kind: 'unmarked' }
  /** Another worker holds the document this many more ms. */
  | { kind: 'claimed'; msLeft: number }
  /** The worker is stopping; the document may hold work (hand it over). */
  | { kind: 'stopped'; heldUntil: number };

/** How long a turn waits for more work after a take that emptied the queue (ms). */
const LINGER_MS = 5;
const RETRY_FIRST_MS = 50;
const RETRY_MAX_MS = 2000;

/**
 * A worker's turn on one document: take, apply and remove batches (one
 * script each) until the queue is empty, then unmark.
 *
 * Why nothing is stranded: a gateway marks a document after each add, and a
 * mark on a marked document moves its score; the unmark only removes the
 * score this worker last saw (from its wake-up or poll, or the one it wrote
 * holding the mark). So an unmark succeeds only when no mark came after the
 * turn's last look at the queue; one that comes later finds no mark and
 * wakes a worker. A gateway that dies between its add and its mark left an
 * intent, which pollers turn into a mark (sweep-3).
 *
 * What a short turn costs: the take of the job named in the wake-up, then
 * the unmark. The take claims the document first, so a second worker woken
 * by the same wake-up gets `claimed` and leaves the mark alone. A turn that
 * goes on (a backlog) holds the mark, so that pollers leave it alone.
 *
 * A failed call (Redis down, a time-out) is retried here, never answered:
 * the take is atomic, so jobs either were applied and removed (their
 * outcomes reach the clients through the history) or are still waiting.
 */
export async function runDocument(
  deps: DocumentRunnerDeps,
  doc: string,
  seen?: MarkSeen,
): Promise<RunEnd> {
  const { client, keys, consumer, leaseMs } = deps;
  const ready = keys.ready(keys.shardOf(doc));
  // The mark's score as this turn last saw it: what the unmark compares with.
  let observed = seen?.score ?? (await markScore(client, ready, doc));
  if (observed === undefined) return { kind: 'unmarked' };
  let ids: string[] = seen?.job === undefined ? [] : [seen.job];
  // A turn longer than this holds the mark (due at its lease end), and holds it again later.
  let holdAt = Date.now() + leaseMs / 3;
  const hold = async (): Promise<boolean> => {
    const until = Date.now() + leaseMs;
    holdAt = Date.now() + leaseMs / 3;
    observed = until;
    return Number(await OrderingScripts.hold.run(client, [ready], [doc, 'hold', until])) === 1;
  };
  let heldUntil = 0;
  let batches = 0;
  let delay = RETRY_FIRST_MS;
  // The publish of the last batch the script applied: the next take runs
  // while it completes; the next publish (and the end of the turn) waits for it.
  let publishing: Promise<unknown> = Promise.resolve();
  const end = async (how: RunEnd): Promise<RunEnd> => {
    await publishing;
    return how;
  };
  while (!deps.stopping()) {
    try {
      if (Date.now() > holdAt) await hold();
      const taken = await consumer.take(doc, ids);
      if (taken.kind === 'claimed') return end(taken);
      if (taken.kind === 'unreadable') {
        await setAside(deps, doc, taken.id, taken.reason);
        ids = [];
        continue;
      }
      if (taken.kind === 'missing') {
        // A store that cannot be read throws: the jobs wait, retried below.
        if (!deps.restore)
          throw new Error('the document has no session and no store to load it from');
        await deps.restore(doc);
        continue;
      }
      ids = taken.nextIds;
      if (taken.jobs > 0) {
        batches++;
        heldUntil = Date.now() + leaseMs;
        await publishing;
        const sent = deps.publish(doc, taken.outcomes, taken.submissions, taken.applied);
        if (taken.applied) {
          publishing = sent.catch((err: unknown) =>
            deps.log.warn({ doc, err: (err as Error).message }, 'publishing outcomes failed'),
          );
        } else await sent;
      }
      if (ids.length === 0 && taken.jobs > 0 && batches > 1 && !deps.othersWaiting()) {
        // A busy document (more than one batch this turn): its gateways'
        // next batch is usually a round trip away. Look again shortly
        // instead of ending the turn, so that it stays with this worker.
        // Not while other documents wait for the slot: a worker behind
        // sees many two-batch turns (ops that came while their document
        // waited), and each wait would hold a slot idle and cost a take.
        await new Promise((resolve) => setTimeout(resolve, LINGER_MS));
        continue;
      }
      if (ids.length === 0) {
        // Nothing was waiting after this take. The unmark needs no second
        // look: a job added since then came with a mark that moved the score.
        const unmarked = Number(
          await OrderingScripts.hold.run(client, [ready], [doc, 'unmark', observed]),
        );
        if (unmarked !== 0) return end({ kind: 'done', heldUntil });
        // A gateway marked the document after this turn's last look: its job
        // was added before that mark, so the next take finds it (or took it
        // already). Hold first, or every later unmark would fail too and
        // the turn would spin on empty takes. No mark left: nothing waits.
        if (!(await hold())) return end({ kind: 'done', heldUntil });
      }
      delay = RETRY_FIRST_MS;
    } catch (err) {
      deps.log.warn(
        { doc, err: (err as Error).message, retryMs: delay },
        'a turn on the document failed; retrying (its jobs stay queued until applied)',
      );
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, RETRY_MAX_MS);
    }
  }
  return end({ kind: 'stopped', heldUntil });
}

/** The document's ready mark score, undefined when it has none. */
async function markScore(
  client: RedisClient,
  ready: string,
  doc: string,
): Promise<number | undefined> {
  const score = await client.zscore(ready, doc);
  return score === null ? undefined : Number(score);
}

/**
 * Moves a job the take script cannot read into the queue's failed set, so
 * that the document's later jobs go on, and answers its op messages: they
 * were certainly not applied (the script read it before writing anything).
 */
async function setAside(deps: DocumentRunnerDeps, doc: string, id: string, problem: string) {
  const reason = `the ordering worker cannot read this job: ${problem}`;
  const submissions = await deps.consumer.setAside(doc, id, reason);
  if (submissions === null) return;
  deps.log.error(
    { doc, job: id, ops: submissions.length, reason },
    "a queued job cannot be processed: set aside in the queue's failed set, its ops answered INTERNAL",
  );
  const outcomes: ApplyOutcome[] = submissions.map((sub) => ({
    kind: 'rejected',
    doc,
    client: sub.client,
    cseq: sub.cseq,
    code: 'INTERNAL',
    message: `op ${sub.cseq} could not be applied (queued job ${id} was set aside); nothing was changed`,
    ...(sub.ref !== undefined ? { ref: sub.ref } : {}),
  }));
  if (outcomes.length > 0) await deps.publish(doc, outcomes, submissions, true);
}
