import { randomUUID } from 'node:crypto';
import type { Queue } from 'bullmq';
import type { Cluster, Redis } from 'ioredis';
import type { Logger } from 'pino';
import { UnavailableError } from '../../protocol';
import type { OpSubmission } from '../../document/op-submission';
import type { EventOrderingService } from './event-ordering-service';
import { OpenQueues } from './open-queues';
import { AddInDoubt, addUntilAnswered, inDoubt } from './add-in-doubt';
import { OrderingScripts } from './lua';
import type { OrderingKeys } from '../../redis/ordering-keys';
import { encodeJob } from './job-codec';

interface Pending {
  submissions: OpSubmission[];
  waiters: Array<{ resolve: () => void; reject: (err: unknown) => void }>;
}

/**
 * How long a gateway's intent stays unconfirmed before pollers look at the
 * document anyway: longer than an add takes, short enough that a job of a
 * gateway killed between its add and its mark waits little.
 */
export const INTENT_MS = 3000;

export interface RedisOrderingOptions {
  client: Redis | Cluster;
  keys: OrderingKeys;
  /** SPUBLISH on a cluster, PUBLISH on a single Redis. */
  sharded: boolean;
  log: Logger;
  toUnavailable: (err: unknown) => UnavailableError;
  /** Op messages per job at most (ORDERING_BATCH_MAX): a worker applies whole jobs. */
  batchMax: number;
  /** REDIS_SESSION_TTL: how long a queue's keys live after its last job (0: always). */
  keyTtlSeconds: number;
  /** Document queues kept open. @default 2000 */
  queueCacheSize?: number;
}

/**
 * The gateway side of Redis ordering: each document's op messages go to its
 * BullMQ queue, consumed by worker processes (OrderingWorker). Messages of
 * one document that arrive in the same I/O turn travel as one job, which is
 * what keeps the per-job Redis cost off the per-op path.
 */
export class RedisEventOrderingService implements EventOrderingService {
  readonly mode = 'redis' as const;
  private readonly pending = new Map<string, Pending>();
  private readonly queues: OpenQueues;
  private flushScheduled = false;
  private readonly inFlight = new Set<Promise<boolean>>();
  /** The last batch sent per document: batches of one document are added in order. */
  private readonly chains = new Map<string, Promise<boolean>>();
  private closing = false;
  /** Names this gateway's intents and, with a counter, its jobs. */
  private readonly gatewayId = randomUUID();
  private jobsAdded = 0;

  constructor(private readonly options: RedisOrderingOptions) {
    const { client, keys, log, keyTtlSeconds, queueCacheSize } = options;
    this.queues = new OpenQueues(client, keys, log, keyTtlSeconds, queueCacheSize);
  }

  submit(submission: OpSubmission): Promise<void> {
    if (this.closing) {
      return Promise.reject(
        new UnavailableError('the gateway is shutting down; resend the op to another gateway'),
      );
    }
    return new Promise((resolve, reject) => {
      let entry = this.pending.get(submission.doc);
      if (!entry) this.pending.set(submission.doc, (entry = { submissions: [], waiters: [] }));
      entry.submissions.push(submission);
      entry.waiters.push({ resolve, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /**
   * Sends what each document accumulated. A document with a batch still on
   * its way keeps accumulating instead: its next batch leaves when that one
   * is queued, as one batch, so a busy document costs a few round trips per
   * batch however many I/O turns its ops arrived in.
   */
  private flush(): void {
    this.flushScheduled = false;
    for (const [doc, entry] of this.pending) {
      if (this.chains.has(doc)) continue;
      this.pending.delete(doc);
      this.send(doc, entry, true);
    }
  }

  private send(doc: string, entry: Pending, previousQueued: boolean): void {
    const sending: Promise<boolean> = this.enqueue(doc, entry, previousQueued);
    this.chains.set(doc, sending);
    this.inFlight.add(sending);
    void sending.then((queued) => {
      this.inFlight.delete(sending);
      this.chains.delete(doc);
      const next = this.pending.get(doc);
      if (!next) return;
      this.pending.delete(doc);
      this.send(doc, next, queued);
    });
  }

  /**
   * Adds one batch after the document's previous one. If that one failed,
   * this one (what arrived meanwhile) fails too without being added:
   * otherwise a client's later op could be applied while its earlier one was
   * refused, and the resend of the earlier one would then count as a
   * duplicate. Resolves to whether the batch was queued; a refused one
   * resolves true, so that what comes after it starts afresh.
   *
   * Three steps: an intent in the document's ready shard, the jobs (BullMQ's
   * add), the mark. An op is refused only when it certainly was not queued:
   * the intent failed, or the add failed with a reply that says nothing ran.
   * A lost connection or a time-out during the add is in doubt: the op stays
   * pending, and its outcome comes from the worker (or from the history).
   * The mark is not waited for: the next batch may be added meanwhile.
   */
  private async enqueue(doc: string, entry: Pending, previousQueued: boolean): Promise<boolean> {
    const { keys, client, log } = this.options;
    if (!previousQueued) {
      const refused = new UnavailableError(
        'an earlier op of this document could not be queued, so this one was not either; nothing was applied; resend them in order',
      );
      for (const waiter of entry.waiters) waiter.reject(refused);
      return true;
    }
    const shard = keys.shardOf(doc);
    // The first job's id travels in the wake-up (a worker takes it at once),
    // and names the intent: each batch's mark removes its own intent only.
    const firstJob = this.nextJobId();
    const intent = `${this.gatewayId} ${doc} ${firstJob}`;
    // Waiters match submissions one to one; `queued` of them are in the queue.
    let queued = 0;
    let adding = false;
    try {
      await client.zadd(keys.intents(shard), Date.now() + INTENT_MS, intent);
      const queue = this.queueFor(doc);
      adding = true;
      while (queued < entry.submissions.length) {
        const chunk = entry.submissions.slice(queued, queued + this.options.batchMax);
        const jobId = queued === 0 ? firstJob : this.nextJobId();
        // The document's next batch waits meanwhile: nothing of this gateway overtakes it.
        await addUntilAnswered(queue, jobId, encodeJob(chunk), (err, retryMs) =>
          log.warn(
            { doc, job: jobId, err: (err as Error).message, retryMs },
            'enqueue in doubt; adding the same job again',
          ),
        );
        queued += chunk.length;
      }
    } catch (err) {
      for (const waiter of entry.waiters.slice(0, queued)) waiter.resolve();
      const rest = entry.waiters.slice(queued);
      if (adding && (err instanceof AddInDoubt || inDoubt(err))) {
        log.warn({ doc, err: (err as Error).message }, 'enqueue in doubt; the ops stay pending');
        for (const waiter of rest) waiter.resolve();
      } else {
        log.warn({ doc, err: (err as Error).message }, 'enqueue failed');
        const unavailable = this.options.toUnavailable(err);
        for (const waiter of rest) waiter.reject(unavailable);
      }
      if (queued > 0) this.track(this.markAdded(doc, intent, firstJob));
      return false;
    }
    // Queued: the ops will be applied, whatever happens to the mark below.
    for (const waiter of entry.waiters) waiter.resolve();
    this.track(this.markAdded(doc, intent, firstJob));
    return true;
  }

  private nextJobId(): string {
    return `${this.gatewayId}-${++this.jobsAdded}`;
  }

  /** Keeps `step` among the work close() waits for. */
  private track(step: Promise<void>): void {
    const done = step.then(() => true);
    this.inFlight.add(done);
    void done.then(() => this.inFlight.delete(done));
  }

  /**
   * Marks the document ready and wakes a worker when it was not marked yet.
   * If this fails (or the gateway dies before it), the intent expires and
   * pollers find the document (sweep-3).
   */
  protected async markAdded(doc: string, intent: string, firstJob: string): Promise<void> {
    const { keys, client, sharded, log } = this.options;
    const shard = keys.shardOf(doc);
    try {
      await OrderingScripts.mark.run(
        client,
        [keys.ready(shard), keys.intents(shard)],
        [
          doc,
          intent,
          Date.now(),
          keys.wakeChannel(shard),
          sharded ? 'SPUBLISH' : 'PUBLISH',
          firstJob,
        ],
      );
    } catch (err) {
      log.warn(
        { doc, err: (err as Error).message, withinMs: INTENT_MS },
        'could not mark the document ready; pollers find it when the intent expires',
      );
    }
  }

  /** The document's queue (tests wrap it to inject faults). */
  protected queueFor(doc: string): Queue {
    return this.queues.get(doc);
  }

  /** Op messages accepted but not yet written to their queue. */
  depth(): number {
    let total = 0;
    for (const entry of this.pending.values()) total += entry.submissions.length;
    return total;
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    // Batches that wait behind one in flight leave when it is queued.
    while (this.pending.size > 0 || this.inFlight.size > 0) {
      this.flush();
      await Promise.allSettled([...this.inFlight]);
    }
    await this.queues.close();
  }
}
