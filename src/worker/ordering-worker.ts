import { READY_SHARDS } from '../redis/ordering-keys';
import { AcknowledgedSeqs } from '../services/collaboration/acknowledged-seqs';
import { ReplicaWait } from '../services/collaboration/replica-wait';
import { QUEUE_EVENTS_MAX_LEN, QUEUE_VERSION } from '../services/event-ordering/document-queue';
import { OrderingScripts } from '../services/event-ordering/lua';
import { runDocument } from './document-runner';
import { QueueConsumer } from './queue-consumer';
import { announceDeparture, handOver } from './departure';
import { departedNode, laterSeen, parseWake, type MarkSeen } from './wake-message';
import type { OrderingWorkerOptions } from './ordering-worker-options';

/**
 * Consumes per-document BullMQ queues with a bounded number of connections,
 * however many documents are live: one command connection and one
 * subscriber, no BullMQ Worker (which would hold a blocking connection per
 * queue). A document with work is marked in a ready set and announced on a
 * wake channel; a worker takes it (runDocument): each batch is claimed,
 * taken, applied and removed by one script on the document's slot, so a
 * crash leaves every job either applied and gone or waiting, in order.
 * The claim lasts its lease after the last batch, so the next burst of a
 * busy document goes to the same worker; the others skip it until then.
 */
export class OrderingWorker {
  private readonly active = new Set<string>();
  /**
   * Documents woken while every slot (`concurrency`) was busy, with the mark
   * their wake-ups told: started in order as slots free up, with one take
   * when the mark is known instead of a look at the mark and a take to learn
   * the waiting ids (at 10,000 quiet documents most turns start from here).
   */
  private readonly backlog = new Map<string, MarkSeen | undefined>();
  /**
   * Documents woken while this worker's turn on them was ending: the turn may
   * have unmarked the document just before the mark that sent the wake-up,
   * so another turn follows at once instead of at the next poll.
   */
  private readonly again = new Set<string>();
  /** Documents this worker may still hold a claim on: doc -> lease end (ms). */
  private readonly held = new Map<string, number>();
  /**
   * Documents another worker holds: doc -> when to look again (ms); wake-ups
   * for them are skipped until then. At most one poll interval ahead, even
   * when the claim lasts longer: a hand-over lost on the way then costs one
   * poll, not a lease.
   */
  private readonly elsewhere = new Map<string, number>();
  /** Documents handed over ('!doc') while a turn on them ran: its `claimed` end is out of date. */
  private readonly handedOver = new Set<string>();
  private readonly consumer: QueueConsumer;
  private poller: NodeJS.Timeout | undefined;
  private closing = false;
  private polling = false;
  private readonly running = new Set<Promise<void>>();
  applied = 0;

  constructor(private readonly options: OrderingWorkerOptions) {
    this.consumer = new QueueConsumer({
      client: options.client,
      keys: options.keys,
      docKeys: options.docKeys,
      owner: options.owner,
      leaseMs: options.leaseMs,
      batchMax: options.batchMax,
      jobsPerTake: options.jobsPerBatch,
      historyLength: options.historyLength,
      keyTtlSeconds: options.keyTtlSeconds,
      maxDocBytes: options.maxDocBytes,
      eventsMaxLen: QUEUE_EVENTS_MAX_LEN,
      queueVersion: QUEUE_VERSION,
      log: options.log,
      durable: options.restore !== undefined,
      ...(options.stateInRedis ? { apply: this.applyInScript() } : {}),
    });
  }

  /** What the take script's applies need besides Redis: the replica wait and acknowledged seqs. */
  private applyInScript() {
    const { client, log } = this.options;
    return {
      replicaWait: new ReplicaWait({
        redis: client,
        log,
        setting: this.options.waitReplicas ?? 0,
        timeoutMs: this.options.waitTimeoutMs ?? 1000,
        // Failures propagate to runDocument, which retries the turn.
        call: (_operation, _doc, run) => run(),
        now: Date.now,
      }),
      acknowledged: new AcknowledgedSeqs(),
    };
  }

  async start(): Promise<void> {
    const { subscriber, sharded, keys } = this.options;
    this.options.roster?.start();
    // Polling first: it works even while the subscription waits for Redis.
    this.poller = setInterval(() => void this.poll(), this.options.pollMs);
    this.poller.unref();
    const channels = Array.from({ length: READY_SHARDS }, (_, shard) => keys.wakeChannel(shard));
    // The subscriber may be shared with the WebSocket manager: only wake
    // channels carry document ids. '!doc' is a hand-over from a stopping worker.
    const wake = new Set(channels);
    const onMessage = (channel: string, message: string) => {
      if (!wake.has(channel)) return;
      const left = departedNode(message);
      if (left !== undefined) {
        this.options.roster?.depart(left);
        return;
      }
      const { doc, handover, seen } = parseWake(message);
      if (!handover && !this.answers(doc)) return;
      if (handover) {
        this.elsewhere.delete(doc);
        // A turn running now may still end `claimed`: its take ran before the release.
        if (this.active.has(doc)) this.handedOver.add(doc);
      }
      this.offer(doc, seen);
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

  /**
   * Reads every ready set (due marks) and turns expired intents into marks:
   * the safety net under lost wake-ups, failed marks and dead owners.
   */
  private async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    const { client, keys, log } = this.options;
    try {
      for (let shard = 0; shard < READY_SHARDS && !this.closing; shard++) {
        const now = Date.now();
        const swept = await OrderingScripts.sweep.run(
          client,
          [keys.ready(shard), keys.intents(shard)],
          [now, 1000],
        );
        for (const doc of swept as string[]) this.elsewhere.delete(doc);
        // Only marks whose time has come: held ones belong to a live worker.
        const marks = await client.zrangebyscore(
          keys.ready(shard),
          '-inf',
          String(now),
          'WITHSCORES',
          'LIMIT',
          0,
          10_000,
        );
        // A document another worker answers is left to it while its mark is
        // fresh: under load marks live long enough for every poll to see
        // them, and taking them here would only race that worker. Old marks
        // too while this worker's own documents wait for a slot: it is
        // behind itself, and when both are behind, taking each other's
        // documents spends a take on every collision (a worker that died
        // leaves the roster when its heartbeat goes stale).
        const freshSince = now - (this.options.roster?.graceMs ?? 0);
        for (let i = 0; i + 1 < marks.length; i += 2) {
          const doc = marks[i] as string;
          const score = Number(marks[i + 1]);
          if ((score > freshSince || this.backlog.size > 0) && !this.answers(doc)) continue;
          this.offer(doc, { score });
        }
      }
      this.forgetExpired();
    } catch (err) {
      // The connection reports outages itself; one line per failed round here.
      log.debug({ err: (err as Error).message }, 'reading the ready sets failed');
    } finally {
      this.polling = false;
    }
  }

  /**
   * Whether a wake-up for `doc` starts a turn here: this worker is the
   * document's preferred one, or holds it (a busy document stays with its
   * holder), or runs it now. The others leave it to the poll.
   */
  private answers(doc: string): boolean {
    const { roster } = this.options;
    if (!roster || roster.prefers(doc) || this.active.has(doc)) return true;
    return (this.held.get(doc) ?? 0) > Date.now();
  }

  private forgetExpired(): void {
    const now = Date.now();
    for (const [doc, until] of this.elsewhere) if (until <= now) this.elsewhere.delete(doc);
    for (const [doc, until] of this.held) if (until <= now) this.held.delete(doc);
  }

  /** `seen`: the mark as the wake-up or poll told it, if known (see runDocument). */
  private offer(doc: string, seen?: MarkSeen): void {
    if (this.closing) return;
    if (this.active.has(doc)) {
      this.again.add(doc);
      return;
    }
    const until = this.elsewhere.get(doc);
    if (until !== undefined) {
      if (until > Date.now()) return;
      this.elsewhere.delete(doc);
    }
    if (this.active.size >= this.options.concurrency) {
      this.backlog.set(doc, laterSeen(this.backlog.get(doc), seen));
      return;
    }
    this.active.add(doc);
    const run = this.process(doc, seen)
      .catch((err: unknown) => this.options.log.error({ doc, err }, 'processing a document failed'))
      .finally(() => {
        this.running.delete(run);
        this.active.delete(doc);
        if (this.again.delete(doc)) {
          this.offer(doc);
          return;
        }
        const next = this.backlog.entries().next();
        if (!next.done) {
          const [waiting, waitingSeen] = next.value;
          this.backlog.delete(waiting);
          this.offer(waiting, waitingSeen);
        }
      });
    this.running.add(run);
  }

  private async process(doc: string, seen: MarkSeen | undefined): Promise<void> {
    const { client, keys, leaseMs, log } = this.options;
    const end = await runDocument(
      {
        client,
        keys,
        consumer: this.consumer,
        leaseMs,
        log,
        stopping: () => this.closing,
        othersWaiting: () => this.backlog.size > 0,
        ...(this.options.restore ? { restore: this.options.restore } : {}),
        publish: async (d, outcomes, submissions, applied) => {
          // Jobs without op messages (unreadable data) leave nothing to tell anyone.
          if (submissions.length === 0) return;
          this.applied += submissions.length;
          const { processor, publish } = this.options;
          await (applied ? publish(d, outcomes, submissions) : processor(d, submissions));
        },
      },
      doc,
      seen,
    );
    const handedOver = this.handedOver.delete(doc);
    if (end.kind === 'claimed' && !handedOver) {
      this.elsewhere.set(doc, Date.now() + Math.min(end.msLeft, this.options.pollMs));
    }
    if (end.kind === 'done' && end.heldUntil > 0) this.held.set(doc, end.heldUntil);
    // Stopped mid-turn: the mark is held for later, so hand it over on close.
    if (end.kind === 'stopped') this.held.set(doc, Date.now() + leaseMs);
  }

  /** Documents with queued work that this worker has seen but not started. */
  get backlogSize(): number {
    return this.backlog.size;
  }

  /**
   * Stops taking documents, lets the current batches finish, then hands
   * every document it may hold over at once: claim released, a held mark
   * due now, a wake-up that every other worker acts on.
   */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    if (this.poller) clearInterval(this.poller);
    const { roster } = this.options;
    if (roster) {
      roster.stop();
      await announceDeparture(this.options, roster.self);
    }
    await Promise.allSettled([...this.running]);
    await handOver(this.options, this.held.keys());
    this.held.clear();
  }
}
