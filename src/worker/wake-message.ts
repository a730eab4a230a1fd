/**
 * What a wake-up on a ready shard's channel tells a worker. Gateways
 * (mark-3) send '<doc> <mark score> <first job id>'; a stopping worker sends
 * '!<doc>' (a hand-over, which no worker skips) and, first, '!! <node>'
 * (see departure); gateways of an earlier release send the bare doc id.
 * Document and job ids contain no spaces.
 */
export interface Wake {
  doc: string;
  handover: boolean;
  /** The mark's score when it was written, and the job that came with it. */
  seen?: MarkSeen;
}

/**
 * A mark as a worker last saw it. `score` lets the turn unmark without
 * holding first; `job` lets its first take apply without asking which ids
 * wait. Either may be stale: a stale score only makes the unmark fail (the
 * turn then looks again), a stale job id only makes the take learn the ids.
 */
export interface MarkSeen {
  score: number;
  job?: string;
}

/**
 * A stopping worker's '!! <node>': the others drop it from their roster at
 * once (see WorkerRoster). No wake-up or hand-over reads like this: document
 * ids contain no spaces.
 */
export function departure(node: string): string {
  return `!! ${node}`;
}

/** The node id of a departure message, undefined for any other message. */
export function departedNode(message: string): string | undefined {
  return message.startsWith('!! ') ? message.slice(3) : undefined;
}

export function parseWake(message: string): Wake {
  if (message.startsWith('!')) return { doc: message.slice(1), handover: true };
  const [doc = '', score, job] = message.split(' ');
  const value = Number(score);
  if (score === undefined || !Number.isFinite(value)) return { doc, handover: false };
  return { doc, handover: false, seen: job ? { score: value, job } : { score: value } };
}

/**
 * One view of a mark from two looks at it, `later` the more recent: its
 * score (what the mark holds now), and the earlier job id, the older of the
 * two waiting jobs (a take must start at the queue's oldest job).
 */
export function laterSeen(
  earlier: MarkSeen | undefined,
  later: MarkSeen | undefined,
): MarkSeen | undefined {
  if (!earlier || !later) return later ?? earlier;
  const job = earlier.job ?? later.job;
  return job === undefined ? { score: later.score } : { score: later.score, job };
}
