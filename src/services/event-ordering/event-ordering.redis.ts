import type { Queue } from 'bullmq';
import type { Cluster, Redis } from 'ioredis';
import type { Logger } from 'pino';
import { UnavailableError } from '../../protocol';
import type { OpSubmission } from '../../document/op-submission';
import type { EventOrderingService } from './event-ordering-service';
import { withClaimCommands } from '../../redis/document-claim';
import { openDocumentQueue } from './document-queue';
import type { OrderingKeys } from '../../redis/ordering-keys';

/** The data of one BullMQ job: the op messages of one document gathered in one I/O turn. */
export interface OpBatchJob {
  submissions: OpSubmission[];
}

interface Pending {
  submissions: OpSubmission[];
  waiters: Array<{ resolve: () => void; reject: (err: unknown) => void }>;
}

const MARK_READY_ATTEMPTS = 5;

/** Queue objects kept for recently active documents; they share one connection. */
const QUEUE_CACHE_SIZE = 2000;

export interface RedisOrderingOptions {
  client: Redis | Cluster;
  keys: OrderingKeys;
  /** SPUBLISH on a cluster, PUBLISH on a single Redis. */
  sharded: boolean;
  log: Logger;
  toUnavailable: (err: unknown) => UnavailableError;
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
  private readonly queues = new Map<string, Queue>();
  private flushScheduled = false;
  private readonly inFlight = new Set<Promise<boolean>>();
  /** The last batch sent per document: batches of one document are added in order. */
  private readonly chains = new Map<string, Promise<boolean>>();
  private closing = false;

  constructor(private readonly options: RedisOrderingOptions) {
    withClaimCommands(options.client);
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

  private flush(): void {
    this.flushScheduled = false;
    for (const [doc, entry] of this.pending) {
      const previous = this.chains.get(doc);
      const sending: Promise<boolean> = this.enqueue(doc, entry, previous).finally(() => {
        this.inFlight.delete(sending);
        if (this.chains.get(doc) === sending) this.chains.delete(doc);
      });
      this.chains.set(doc, sending);
      this.inFlight.add(sending);
    }
    this.pending.clear();
  }

  /**
   * Adds one batch after the document's previous one. If that one failed,
   * this one fails too without being added: otherwise a client's later op
   * could be applied while its earlier one was refused, and the resend of
   * the earlier one would then count as a duplicate.
   */
  private async enqueue(
    doc: string,
    entry: Pending,
    previous: Promise<boolean> | undefined,
  ): Promise<boolean> {
    if (previous && !(await previous)) {
      const refused = new UnavailableError(
        'an earlier op of this document could not be queued, so this one was not either; nothing was applied; resend them in order',
      );
      for (const waiter of entry.waiters) waiter.reject(refused);
      return false;
    }
    try {
      const job: OpBatchJob = { submissions: entry.submissions };
      await this.queueFor(doc).add('ops', job, {
        removeOnComplete: true,
        removeOnFail: true,
        attempts: 1,
      });
    } catch (err) {
      this.options.log.warn({ doc, err: (err as Error).message }, 'enqueue failed');
      const unavailable = this.options.toUnavailable(err);
      for (const waiter of entry.waiters) waiter.reject(unavailable);
      return false;
    }
    // Queued: the ops will be applied, whatever happens to the wake-up below.
    for (const waiter of entry.waiters) waiter.resolve();
    await this.markReady(doc);
    return true;
  }

  /**
   * Marks the document as having work, and wakes a worker when it was not
   * marked yet. Retried: an unmarked document waits for its next op.
   */
  private async markReady(doc: string): Promise<void> {
    const { keys, client, sharded, log } = this.options;
    const shard = keys.shardOf(doc);
    for (let attempt = 1; ; attempt++) {
      try {
        const fresh = await withClaimCommands(client).flowMarkReady(
          keys.ready(shard),
          doc,
          Date.now(),
        );
        if (fresh === 1) {
          // A wake-up is a hint; a worker that misses it finds the mark on its next poll.
          const channel = keys.wakeChannel(shard);
          await (sharded ? client.spublish(channel, doc) : client.publish(channel, doc));
        }
        return;
      } catch (err) {
        if (attempt >= MARK_READY_ATTEMPTS) {
          log.error(
            { doc, err: (err as Error).message },
            'could not mark the document ready; its ops wait for the next one',
          );
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, 200 * attempt));
      }
    }
  }

  private queueFor(doc: string): Queue {
    let queue = this.queues.get(doc);
    if (queue) {
      // Re-insert: Map order doubles as least-recently-used order.
      this.queues.delete(doc);
      this.queues.set(doc, queue);
      return queue;
    }
    queue = openDocumentQueue(this.options.client, this.options.keys, doc, this.options.log);
    this.queues.set(doc, queue);
    if (this.queues.size > QUEUE_CACHE_SIZE) {
      const [oldestDoc, oldest] = this.queues.entries().next().value as [string, Queue];
      this.queues.delete(oldestDoc);
      void oldest.close().catch(() => undefined);
    }
    return queue;
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
    if (this.flushScheduled) this.flush();
    await Promise.allSettled([...this.inFlight]);
    await Promise.allSettled([...this.queues.values()].map((q) => q.close()));
    this.queues.clear();
  }
}
