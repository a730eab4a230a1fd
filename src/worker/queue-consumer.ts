import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { MAX_ENTITY_BYTES, MAX_ENTITY_DEPTH } from '../protocol/limits';
import type { ApplyOutcome, OpSubmission } from '../document/op-submission';
import type { RedisClient } from '../redis/connection';
import type { RedisKeys } from '../redis/keys';
import type { OrderingKeys } from '../redis/ordering-keys';
import type { AcknowledgedSeqs } from '../services/collaboration/acknowledged-seqs';
import { CollaborationScripts, documentScriptKeys } from '../services/collaboration/lua';
import { asArray, asNumber, asString, decodeApply } from '../services/collaboration/lua/codec';
import type { ReplicaWait } from '../services/collaboration/replica-wait';
import { decodeJob } from '../services/event-ordering/job-codec';
import { OrderingScripts } from '../services/event-ordering/lua';

const SCRIPT = 'take-apply-12';

export type TakeResult =
  /** Another worker holds the document for this many more ms. */
  | { kind: 'claimed'; msLeft: number }
  /** A durable document Redis has no session of: load it from the store, then take again. */
  | { kind: 'missing' }
  /** The oldest waiting job cannot be read; nothing was taken: set it aside. */
  | { kind: 'unreadable'; id: string; reason: string }
  | {
      kind: 'taken';
      /** Jobs taken (and applied); 0 when none of the expected ids was at the queue's tail. */
      jobs: number;
      submissions: OpSubmission[];
      /** Empty when the jobs were only taken (see `applied`). */
      outcomes: ApplyOutcome[];
      /**
       * False when the script only took the jobs: document state in this
       * process's memory, or a job of an older release's layout. The caller
       * then applies `submissions` itself.
       */
      applied: boolean;
      /** The ids now waiting at the tail, oldest first: what the next call should expect. */
      nextIds: string[];
    };

export interface QueueConsumerOptions {
  client: RedisClient;
  keys: OrderingKeys;
  docKeys: RedisKeys;
  owner: string;
  leaseMs: number;
  /** Op messages applied together at most (ORDERING_BATCH_MAX). */
  batchMax: number;
  /** Jobs declared per call at most. */
  jobsPerTake: number;
  historyLength: number;
  keyTtlSeconds: number;
  /** DOC_MAX_BYTES. */
  maxDocBytes: number;
  /** Entries kept in each queue's BullMQ events stream. */
  eventsMaxLen: number;
  /** Written to the meta hash, as BullMQ's Queue writes it. */
  queueVersion: string;
  /**
   * Given when document state is in Redis: the take script applies, and an
   * applied batch's outcomes wait for the replicas (REDIS_WAIT_REPLICAS) as
   * the collaboration service's own applies do. Absent: the jobs are only
   * taken, for a caller that applies them to state in its memory.
   */
  apply?: { replicaWait: ReplicaWait; acknowledged: AcknowledgedSeqs };
  /**
   * A document store is configured: a document Redis has no session of is
   * never started empty (the take answers `missing`), and unsaved edits keep
   * their keys.
   */
  durable?: boolean;
  log: Logger;
}

/** One worker turn on a document's queue: take, apply and remove, in one script (take-apply-12). */
export class QueueConsumer {
  constructor(private readonly options: QueueConsumerOptions) {}

  async take(doc: string, expectedIds: readonly string[]): Promise<TakeResult> {
    const o = this.options;
    const ids = expectedIds.slice(0, o.jobsPerTake);
    const q = (suffix: string) => o.keys.queueKey(doc, suffix);
    const docKeys = o.docKeys.doc(doc);
    const keys = [
      ...documentScriptKeys(docKeys),
      o.keys.claim(doc),
      q('wait'),
      q('meta'),
      q('events'),
      q('marker'),
      q('id'),
      ...ids.map((id) => q(id)),
    ];
    const candidateEpoch = randomUUID();
    const points = o.apply?.acknowledged.pointsFor(doc, []) ?? [];
    const args: Array<string | number> = [
      doc,
      candidateEpoch,
      o.keyTtlSeconds,
      o.historyLength,
      MAX_ENTITY_BYTES,
      MAX_ENTITY_DEPTH,
      o.owner,
      o.leaseMs,
      o.batchMax,
      o.eventsMaxLen,
      o.queueVersion,
      o.jobsPerTake,
      o.apply ? '1' : '0',
      o.maxDocBytes,
      o.durable ? '1' : '',
      points.length,
      ...points.flatMap(({ epoch, seq }) => [epoch, seq]),
      ...ids,
    ];
    const reply = asArray(
      SCRIPT,
      await CollaborationScripts.takeApply.run(o.client, keys, args),
      'the reply',
    );
    const status = asString(SCRIPT, reply[0], 'the status');
    if (status === 'claimed') return { kind: 'claimed', msLeft: Math.max(0, Number(reply[1])) };
    if (status === 'missing') return { kind: 'missing' };
    if (status === 'unreadable')
      return {
        kind: 'unreadable',
        id: asString(SCRIPT, reply[1], 'the job id'),
        reason: asString(SCRIPT, reply[2], 'the reason'),
      };
    const epoch = asString(SCRIPT, reply[2], 'the epoch');
    const jobs = asNumber(SCRIPT, reply[3], 'the job count');
    let at = 4;
    const submissions: OpSubmission[] = [];
    let legacy = false;
    for (let j = 0; j < jobs; j++) {
      const job = decodeJob(doc, asString(SCRIPT, reply[at++], 'job data'));
      submissions.push(...job.submissions);
      legacy ||= job.legacy;
    }
    const idCount = asNumber(SCRIPT, reply[at++], 'the id count');
    const nextIds: string[] = [];
    for (let i = 0; i < idCount; i++) nextIds.push(asString(SCRIPT, reply[at++], 'an id'));
    if (!o.apply || submissions.length === 0 || legacy) {
      // Not applied by the script: the caller applies them in process.
      return { kind: 'taken', jobs, submissions, outcomes: [], nextIds, applied: false };
    }
    const outcomes = decodeApply(doc, submissions, [epoch, ...reply.slice(at)], o.maxDocBytes);
    this.reportLostWrites(doc, outcomes, candidateEpoch, points.length > 0 || hasSeen(submissions));
    // No outcome leaves before the replicas have the batch: a failover right
    // after an ack must not lose the acknowledged op.
    await o.apply.replicaWait.confirm(doc, docKeys.session);
    o.apply.acknowledged.note(doc, outcomes);
    return { kind: 'taken', jobs, submissions, outcomes, nextIds, applied: true };
  }

  /**
   * Moves job `id`, the oldest waiting, into the queue's failed set
   * (set-aside-3). Resolves to its op messages (none when its data cannot
   * be read), or null when it was no longer the oldest: nothing changed.
   */
  async setAside(doc: string, id: string, reason: string): Promise<OpSubmission[] | null> {
    const o = this.options;
    const q = (suffix: string) => o.keys.queueKey(doc, suffix);
    const data = await OrderingScripts.setAside.run(
      o.client,
      [q('wait'), q(id), q('failed')],
      [id, reason, Date.now(), o.keyTtlSeconds],
    );
    if (data === null) return null;
    try {
      return decodeJob(doc, asString(SCRIPT, data, 'job data')).submissions;
    } catch {
      return [];
    }
  }

  /** A new epoch that goes on from a seq above 1 was moved by the script's check. */
  private reportLostWrites(
    doc: string,
    outcomes: readonly ApplyOutcome[],
    candidateEpoch: string,
    checked: boolean,
  ): void {
    const first = outcomes.find((o) => o.kind === 'applied');
    if (!checked || first?.kind !== 'applied') return;
    if (first.epoch !== candidateEpoch || first.seq <= 1) return;
    this.options.log.error(
      { doc, epoch: first.epoch, seq: first.seq - 1 },
      'Redis lost acknowledged writes of a document (a failover to a lagging replica?); it goes on in a new epoch and its clients resync',
    );
  }
}

function hasSeen(submissions: readonly OpSubmission[]): boolean {
  return submissions.some((sub) => sub.seen !== undefined);
}
