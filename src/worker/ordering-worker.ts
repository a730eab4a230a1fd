import type { Queue } from 'bullmq';
import type { Cluster, Redis } from 'ioredis';
import type { Logger } from 'pino';
import { FencedError } from '../document/fence';
import { type OpSubmission } from '../document/op-submission';
import { withClaimCommands } from '../redis/document-claim';
import { expireQueueKeys, openDocumentQueue } from '../services/event-ordering/document-queue';
import type { OpBatchJob } from '../services/event-ordering/event-ordering.redis';
import type { BatchProcessor } from '../services/event-ordering/event-ordering-service';
import { READY_SHARDS, type OrderingKeys } from '../redis/ordering-keys';

export interface OrderingWorkerOptions {
  /** Commands; shared by every document this worker processes. */
  client: Redis | Cluster;
  /** Receives wake-ups; subscribed to one channel per ready shard. */
  subscriber: Redis | Cluster;
  sharded: boolean;
  keys: OrderingKeys;
  processor: BatchProcessor;
  /** Unique per process: the owner written into claims. */
  owner: string;
  log: Logger;
  /** Documents processed at once by this process. */
  concurrency: number;
  /** Jobs (each one gateway's batch) read per apply. */
  jobsPerBatch: number;
  /** Lease of a claim; renewed every third of it while processing. */
  leaseMs: number;
  /** How often the ready sets are read, for wake-ups lost on the way. */
  pollMs: number;
  /**
   * Seconds a document's ordering keys (queue, fence) live after its last op,
   * like its session (REDIS_SESSION_TTL); 0 keeps them.
   */
  keyTtlSeconds: number;
}

/**
 * Consumes per-document BullMQ queues with a bounded number of connections,
 * however many documents are live: one command connection and one
 * subscriber, no BullMQ Worker (which would hold a blocking connection per
 * queue). A document with work is marked in a ready set and announced on a
 * wake channel; a worker claims it (lease + fence), reads its waiting jobs
 * oldest first, applies them as one batch, removes them, and repeats until
 * the queue is empty. Jobs never enter BullMQ's `active` state, so a crash
 * leaves them waiting, in order, for the next owner; whatever the dead worker
 * had applied is recognised as a duplicate by the apply.
 */
export class OrderingWorker {
  private readonly active = new Set<string>();
  private readonly backlog = new Set<string>();
  private readonly queues = new Map<string, Queue>();
  private poller: NodeJS.Timeout | undefined;
  private closing = false;
  private polling = false;
  private readonly running = new Set<Promise<void>>();
  applied = 0;

  constructor(private readonly options: OrderingWorkerOptions) {
    withClaimCommands(options.client);
  }

  async start(): Promise<void> {
    const { subscriber, sharded, keys } = this.options;
    // Polling first: it works even while the subscription waits for Redis.
    this.poller = setInterval(() => void this.poll(), this.options.pollMs);
    this.poller.unref();
    const channels = Array.from({ length: READY_SHARDS }, (_, shard) => keys.wakeChannel(shard));
    // The subscriber may be shared with the WebSocket manager: only wake
    // channels carry document ids.
    const wake = new Set(channels);
    const onMessage = (channel: string, doc: string) => {
      if (wake.has(channel)) this.offer(doc);
    };
    if (sharded) {
      subscriber.on('smessage', onMessage);
      for (const channel of channels) await subscriber.ssubscribe(channel);
    } else {
      subscriber.on('message', onMessage);
      await subscriber.subscribe(...channels);
    }
    await this.poll();
  }

  /** Reads every ready set: the safety net under lost wake-ups and failed claims. */
  private async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    const { client, keys, log } = this.options;
    try {
      for (let shard = 0; shard < READY_SHARDS && !this.closing; shard++) {
        // Only marks whose time has come: fresh ones were announced on the
        // wake channel, held ones belong to a live worker.
        const docs = await client.zrangebyscore(
          keys.ready(shard),
          '-inf',
          String(Date.now()),
          'LIMIT',
          0,
          100,
        );
        for (const doc of docs) this.offer(doc);
      }
    } catch (err) {
      // The connection reports outages itself; one line per failed round here.
      log.debug({ err: (err as Error).message }, 'reading the ready sets failed');
    } finally {
      this.polling = false;
    }
  }

  private offer(doc: string): void {
    if (this.closing || this.active.has(doc)) return;
    if (this.active.size >= this.options.concurrency) {
      this.backlog.add(doc);
      return;
    }
    this.active.add(doc);
    const run = this.process(doc)
      .catch((err: unknown) => this.options.log.error({ doc, err }, 'processing a document failed'))
      .finally(() => {
        this.running.delete(run);
        this.active.delete(doc);
        const next = this.backlog.values().next();
        if (!next.done) {
          this.backlog.delete(next.value);
          this.offer(next.value);
        }
      });
    this.running.add(run);
  }

  private async process(doc: string): Promise<void> {
    const { client, keys, owner, leaseMs, keyTtlSeconds } = this.options;
    const redis = withClaimCommands(client);
    const claimKey = keys.claim(doc);
    const token = await redis.flowClaim(
      claimKey,
      this.fenceKey(doc),
      owner,
      leaseMs,
      keyTtlSeconds,
    );
    if (token === 0) return; // Another worker has it; the ready mark stays for whoever is next.
    const ready = keys.ready(keys.shardOf(doc));
    // While we hold the claim the ready mark says "not before the lease
    // ends": pollers skip it, and pick it up if we die.
    const holdMark = () => client.zadd(ready, 'XX', Date.now() + leaseMs, doc);
    await holdMark();
    let lost = false;
    const renew = setInterval(
      () => {
        redis.flowRenew(claimKey, owner, leaseMs).then(
          (held) => {
            if (held === 0) lost = true;
            else void holdMark().catch(() => undefined);
          },
          () => undefined,
        );
      },
      Math.max(100, Math.floor(leaseMs / 3)),
    );
    const queue = this.queueFor(doc);
    try {
      for (;;) {
        await this.drain(doc, queue, { owner, token }, () => lost);
        if (this.closing || lost) break;
        // Unmark, then look again: a job added after the unmark marks the
        // document anew (and wakes a worker); one added before it is seen here.
        await client.zrem(ready, doc);
        if ((await queue.getWaitingCount()) === 0) {
          await expireQueueKeys(this.options.client, queue, this.options.keyTtlSeconds);
          break;
        }
        await client.zadd(ready, Date.now() + leaseMs, doc);
      }
    } catch (err) {
      if (!(err instanceof FencedError)) throw err;
      this.options.log.warn(
        { doc, owner },
        'claim taken over by another worker; stopped processing the document',
      );
      return;
    } finally {
      clearInterval(renew);
      await redis.flowRelease(claimKey, owner).catch(() => undefined);
    }
    // Work marked while we held the claim but after our last look.
    if ((await client.zscore(ready, doc)) !== null) setImmediate(() => this.offer(doc));
  }

  private async drain(
    doc: string,
    queue: Queue,
    fence: { owner: string; token: number },
    lost: () => boolean,
  ): Promise<void> {
    for (;;) {
      if (this.closing || lost()) return;
      const jobs = await queue.getJobs(['wait'], 0, this.options.jobsPerBatch - 1, true);
      if (jobs.length === 0) return;
      const submissions: OpSubmission[] = [];
      for (const job of jobs) submissions.push(...((job.data as OpBatchJob).submissions ?? []));
      await this.options.processor(doc, submissions, fence);
      this.applied += submissions.length;
      await Promise.all(jobs.map((job) => queue.remove(job.id as string)));
    }
  }

  private fenceKey(doc: string): string {
    return `${this.options.keys.prefix}fence:{${doc}}`;
  }

  private queueFor(doc: string): Queue {
    let queue = this.queues.get(doc);
    if (!queue) {
      queue = openDocumentQueue(this.options.client, this.options.keys, doc, this.options.log);
      this.queues.set(doc, queue);
      // Only documents being processed keep a Queue object.
      if (this.queues.size > this.options.concurrency * 4) {
        for (const [other, q] of this.queues) {
          if (this.queues.size <= this.options.concurrency * 2) break;
          if (this.active.has(other)) continue;
          this.queues.delete(other);
          void q.close().catch(() => undefined);
        }
      }
    }
    return queue;
  }

  /** Documents with queued work that this worker has seen but not started. */
  get backlogSize(): number {
    return this.backlog.size;
  }

  /** Stops taking documents, lets the current batches finish, releases claims. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    if (this.poller) clearInterval(this.poller);
    await Promise.allSettled([...this.running]);
    await Promise.allSettled([...this.queues.values()].map((q) => q.close()));
    this.queues.clear();
  }
}
