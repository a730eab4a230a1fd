/** What the checker can find wrong, and the list it reports. */
export const AnomalyKinds = {
  /** a live ack or event skipped a seq while the client stayed connected */
  gap: 'the seq jumped past the next one while connected',
  /** a seq delivered twice to one client (live, or a catch-up repeating one) */
  duplicate: 'a seq delivered twice to one client',
  /** `joined` with `since` answered events that do not continue from `since` */
  'catch-up-gap': 'a join with since was answered with events that do not continue from since',
  /** seqs a client never received by any means (event, ack, catch-up or snapshot) */
  hole: 'seqs the client never received by any means',
  /** two clients saw different ops at one seq */
  divergent: 'two clients saw different op messages at one seq',
  /** a client's op messages were applied out of its cseq order */
  'cseq-order': "a client's op messages were applied out of cseq order",
  /** one op message (client, cseq) appears at two seqs */
  'applied-twice': 'one op message appears at two seqs',
  /** an acked op message is not in the document's history */
  'lost-acked-op': "an acked op message is not in the document's history",
  /** an ack with dup:true named another seq than the one the op message became */
  'dup-ack-mismatch': 'a duplicate ack names another seq than the op message became',
  /** op messages sent and never answered (no ack, no error, not in a catch-up) */
  unacked: 'op messages never answered',
  /** an op message answered with an error appears in the history */
  'refused-but-applied': 'an op message refused with an error was applied',
  /** a client received an event for its own op message (it should get an ack) */
  'own-event': 'a client received an event for its own op message',
  /** the document changed epoch during the run: its history was lost or reset */
  'epoch-changed': 'the document changed epoch during the run',
  /** a snapshot older than what the client already had, in the same epoch */
  'seq-regressed': 'a snapshot went back before what the client already had',
  /** at the end the client's replica is not at the server's seq */
  behind: "the client's final seq differs from the server's",
  /** at the end the client's replica differs from GET /docs/:doc at the same seq */
  'state-mismatch': "the client's final state differs from the server's",
  /** the server has no session for a document that had ops */
  'missing-document': 'GET /docs/:doc answered 404 for a document that had ops',
  /** with --store: the stored snapshot stayed behind the server's seq (or in another epoch) */
  'store-behind': "the document store did not reach the server's final seq in time",
  /** with --store: the stored snapshot at the server's seq differs from GET /docs/:doc */
  'store-mismatch': 'the stored snapshot differs from the server at the same seq',
} as const;

export type AnomalyKind = keyof typeof AnomalyKinds;

export interface Anomaly {
  kind: AnomalyKind;
  doc: string;
  /** The client whose history shows it, when one does. */
  client?: string;
  seq?: number;
  detail: string;
}

/** Counts every anomaly; lists the first `limit` of them. */
export class AnomalyList {
  readonly counts: Partial<Record<AnomalyKind, number>> = {};
  readonly listed: Anomaly[] = [];
  total = 0;

  constructor(private readonly limit: number) {}

  add(anomaly: Anomaly): void {
    this.total++;
    this.counts[anomaly.kind] = (this.counts[anomaly.kind] ?? 0) + 1;
    if (this.listed.length < this.limit) this.listed.push(anomaly);
  }
}

/** "6-7, 9" for [6, 7, 9]: sorted distinct integers as ranges, the first `max` ranges. */
export function describeRanges(values: readonly number[], max = 5): string {
  const sorted = [...new Set(values)].sort((a, b) => a - b);
  const ranges: string[] = [];
  let i = 0;
  while (i < sorted.length && ranges.length < max) {
    const start = sorted[i] as number;
    let end = start;
    while (i + 1 < sorted.length && sorted[i + 1] === end + 1) end = sorted[++i] as number;
    ranges.push(start === end ? `${start}` : `${start}-${end}`);
    i++;
  }
  return i < sorted.length ? `${ranges.join(', ')}, ...` : ranges.join(', ');
}
