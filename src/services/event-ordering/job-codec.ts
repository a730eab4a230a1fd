import type { Op } from '../../protocol';
import { splitSubmitterKey, type OpSubmission } from '../../document/op-submission';
import { pushSubmission } from '../../redis/submission-args';

/**
 * One op message in a job: the apply scripts' argument layout (as text), so
 * that take-apply-12 applies it without parsing ops; the client's ref; when
 * a gateway accepted it; the highest (epoch, seq) its gateway had delivered.
 */
interface JobSubmission {
  a: string[];
  r?: string;
  t?: number;
  e?: [string, number];
}

/** The data of one BullMQ job: op messages of one document from one gateway, in order. */
export interface OpBatchJob {
  s: JobSubmission[];
}

export function encodeJob(submissions: readonly OpSubmission[]): OpBatchJob {
  return {
    s: submissions.map((sub) => {
      const args: Array<string | number> = [];
      pushSubmission(args, sub);
      const entry: JobSubmission = { a: args.map(String) };
      if (sub.ref !== undefined) entry.r = sub.ref;
      if (sub.acceptedAt !== undefined) entry.t = sub.acceptedAt;
      if (sub.seen !== undefined) entry.e = [sub.seen.epoch, sub.seen.seq];
      return entry;
    }),
  };
}

/**
 * A job's data as an older release's gateway wrote it: whole submissions.
 * Workers of this release still apply it, so that gateways may be upgraded
 * after the workers without losing what the older ones queue meanwhile.
 */
interface LegacyBatchJob {
  submissions: OpSubmission[];
}

/** The submissions of a job's data text (the take script returns it as stored). */
export function decodeJob(
  doc: string,
  text: string,
): { submissions: OpSubmission[]; legacy: boolean } {
  const job = JSON.parse(text) as Partial<OpBatchJob> & Partial<LegacyBatchJob>;
  if (!Array.isArray(job.s) && Array.isArray(job.submissions)) {
    return { submissions: job.submissions.map((sub) => ({ ...sub, doc })), legacy: true };
  }
  const submissions = (job.s ?? []).map((entry) => {
    const { client, user } = splitSubmitterKey(entry.a[0] ?? '');
    const sub: OpSubmission = {
      doc,
      client,
      cseq: Number(entry.a[1]),
      ops: JSON.parse(entry.a[2] ?? '[]') as Op[],
    };
    if (user !== null) sub.user = user;
    if (entry.r !== undefined) sub.ref = entry.r;
    if (entry.t !== undefined) sub.acceptedAt = entry.t;
    if (entry.e !== undefined) sub.seen = { epoch: entry.e[0], seq: entry.e[1] };
    return sub;
  });
  return { submissions, legacy: false };
}
