import { randomUUID } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import { MAX_ENTITY_BYTES, MAX_ENTITY_DEPTH } from '../../protocol/limits';
import type { Op } from '../../protocol';
import type { RedisKeys } from '../../redis/keys';
import type { ApplyOutcome, OpSubmission } from '../collaboration/collaboration-service';
import { documentScriptKeys } from '../collaboration/lua';
import {
  asArray,
  asNumber,
  asString,
  decodeApply,
  pushSubmission,
} from '../collaboration/lua/codec';
import { OrderingScripts } from './lua';
import type { OrderingKeys } from './ordering-keys';

/** One submission in a job: apply-6's ARGV layout (as text), the client's ref, when it was accepted. */
interface JobSubmission {
  a: string[];
  r?: string;
  t?: number;
}

/** The data of one BullMQ job: op messages of one document from one gateway, in order. */
export interface OpBatchJob {
  s: JobSubmission[];
}

/** A job's data, in the layout the take script reads without parsing ops. */
export function encodeJob(submissions: readonly OpSubmission[]): OpBatchJob {
  return {
    s: submissions.map((sub) => {
      const args: Array<string | number> = [];
      pushSubmission(args, sub);
      const entry: JobSubmission = { a: args.map(String) };
      if (sub.ref !== undefined) entry.r = sub.ref;
      if (sub.acceptedAt !== undefined) entry.t = sub.acceptedAt;
      return entry;
    }),
  };
}

function decodeJob(doc: string, text: string): OpSubmission[] {
  const job = JSON.parse(text) as OpBatchJob;
  return (job.s ?? []).map((entry) => {
    const sub: OpSubmission = {
      doc,
      client: entry.a[0] ?? '',
      cseq: Number(entry.a[1]),
      ops: JSON.parse(entry.a[2] ?? '[]') as Op[],
    };
    if (entry.r !== undefined) sub.ref = entry.r;
    if (entry.t !== undefined) sub.acceptedAt = entry.t;
    return sub;
  });
}

export type TakeResult =
  /** Another worker holds the document for this many more ms. */
  | { kind: 'claimed'; msLeft: number }
  | {
      kind: 'taken';
      /** Jobs taken and applied; 0 when none of the expected ids was at the queue's tail. */
      jobs: number;
      submissions: OpSubmission[];
      outcomes: ApplyOutcome[];
      /** The ids now waiting at the tail, oldest first: what the next call should expect. */
      nextIds: string[];
    };

export interface QueueConsumerOptions {
  client: Redis | Cluster;
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
  /** Entries kept in each queue's BullMQ events stream. */
  eventsMaxLen: number;
  /** Written to the meta hash, as BullMQ's Queue writes it. */
  queueVersion: string;
  /**
   * Apply in the take script (document state in Redis); when false the jobs
   * are only taken, for a caller that applies them to state in its memory.
   */
  apply: boolean;
  /**
   * Replicas that must have an applied batch before its outcomes go out
   * (REDIS_WAIT_REPLICAS), and how long to wait for them; as the
   * collaboration service does for its own applies.
   */
  waitReplicas?: number;
  waitTimeoutMs?: number;
}

/** One worker turn on a document's queue: take, apply and remove, in one script (take-apply-12). */
export class QueueConsumer {
  constructor(private readonly options: QueueConsumerOptions) {}

  async take(doc: string, expectedIds: readonly string[]): Promise<TakeResult> {
    const o = this.options;
    const ids = expectedIds.slice(0, o.jobsPerTake);
    const q = (suffix: string) => o.keys.queueKey(doc, suffix);
    const keys = [
      ...documentScriptKeys(o.docKeys.doc(doc)),
      o.keys.claim(doc),
      q('wait'),
      q('meta'),
      q('events'),
      q('marker'),
      q('id'),
      ...ids.map((id) => q(id)),
    ];
    const args: Array<string | number> = [
      doc,
      randomUUID(),
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
      ...ids,
    ];
    const reply = asArray(
      'take-apply-12',
      await OrderingScripts.takeApply.run(o.client, keys, args),
      'the reply',
    );
    if (asString('take-apply-12', reply[0], 'the status') === 'claimed') {
      return { kind: 'claimed', msLeft: Math.max(0, Number(reply[1])) };
    }
    const epoch = asString('take-apply-12', reply[2], 'the epoch');
    const jobs = asNumber('take-apply-12', reply[3], 'the job count');
    let at = 4;
    const submissions: OpSubmission[] = [];
    for (let j = 0; j < jobs; j++) {
      submissions.push(...decodeJob(doc, asString('take-apply-12', reply[at++], 'job data')));
    }
    const idCount = asNumber('take-apply-12', reply[at++], 'the id count');
    const nextIds: string[] = [];
    for (let i = 0; i < idCount; i++) nextIds.push(asString('take-apply-12', reply[at++], 'an id'));
    const outcomes =
      submissions.length === 0 || !this.options.apply
        ? []
        : decodeApply(doc, submissions, [epoch, ...reply.slice(at)]);
    if (jobs > 0 && o.apply) await this.confirmReplicated(doc);
    return { kind: 'taken', jobs, submissions, outcomes, nextIds };
  }

  /** WAIT on the connection of the document's master (a pipeline with one of its keys reaches it). */
  private async confirmReplicated(doc: string): Promise<void> {
    const wanted = this.options.waitReplicas ?? 0;
    if (wanted <= 0) return;
    const session = this.options.docKeys.doc(doc).session;
    const results = await this.options.client
      .pipeline()
      .exists(session)
      .wait(wanted, this.options.waitTimeoutMs ?? 1000)
      .exec();
    const [error] = results?.[1] ?? [new Error('no reply to WAIT')];
    if (error) throw error;
  }
}
