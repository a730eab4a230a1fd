/**
 * The load test's checker: a pure function of what every client saw
 * (history.ts) and what the server answers at the end (`GET /docs/:doc`).
 * It verifies the invariants of DESIGN.md and PROTOCOL.md section 5 per
 * document:
 *
 * - every client saw the same op message (client, cseq) at each seq;
 * - no client saw a gap or a duplicate while connected, a join with `since`
 *   was answered with exactly the events after `since`, and across
 *   reconnects what a client saw (events, acks, catch-up, snapshots) leaves
 *   no seq out;
 * - each client's op messages were applied in its cseq order;
 * - every acked op message is in the history exactly once, and a duplicate
 *   ack names that same seq (or null);
 * - every op message sent was answered;
 * - the state each client holds at the end equals the server's.
 */
import { AnomalyList, describeRanges, type Anomaly, type AnomalyKind } from './anomalies';
import { DocumentLog, type ServerDocument } from './document-log';
import { EntryKind, type ClientDocHistory } from './history';
import { checkFinal, checkStored } from './final-check';

export { AnomalyKinds, type Anomaly, type AnomalyKind } from './anomalies';
export type { ServerDocument } from './document-log';

export interface CheckResult {
  ok: boolean;
  /** Anomalies found, by kind (all of them, also those not listed). */
  counts: Partial<Record<AnomalyKind, number>>;
  total: number;
  /** The first `maxListed` anomalies. */
  anomalies: Anomaly[];
  documents: number;
  histories: number;
  /** Entries (joins, events, acks...) read. */
  entries: number;
  /** Distinct seqs seen over all documents. */
  seqs: number;
}

export interface CheckOptions {
  /** How many anomalies to list in full (all are counted). Default 1000. */
  maxListed?: number;
  /** With a document store: its snapshot of each document, compared with `server`. */
  stored?: ReadonlyMap<string, ServerDocument | null>;
}

/**
 * Checks the histories of a run. `server` maps each document to what
 * `GET /docs/:doc` answered: null for a 404; a document missing from the map
 * was not fetched and its final states are not compared.
 */
export function checkHistories(
  histories: readonly ClientDocHistory[],
  server: ReadonlyMap<string, ServerDocument | null>,
  options: CheckOptions = {},
): CheckResult {
  const anomalies = new AnomalyList(options.maxListed ?? 1000);
  const byDoc = new Map<string, ClientDocHistory[]>();
  for (const h of histories) {
    let list = byDoc.get(h.doc);
    if (!list) byDoc.set(h.doc, (list = []));
    list.push(h);
  }
  let entries = 0;
  let seqs = 0;
  for (const [doc, list] of byDoc) {
    const log = new DocumentLog(doc, anomalies);
    for (const h of list) {
      entries += h.length;
      checkClient(h, log, anomalies);
    }
    const answer = server.get(doc);
    log.finish(answer ?? null);
    seqs += log.opCount;
    if (log.epochCount > 1) {
      anomalies.add({
        kind: 'epoch-changed',
        doc,
        detail: `the clients saw ${log.epochCount} epochs of this document`,
      });
    }
    if (answer !== undefined) checkFinal(doc, list, answer, log.opCount > 0, anomalies);
    if (answer && options.stored?.has(doc))
      checkStored(doc, answer, options.stored.get(doc) ?? null, anomalies);
  }
  return {
    ok: anomalies.total === 0,
    counts: anomalies.counts,
    total: anomalies.total,
    anomalies: anomalies.listed,
    documents: byDoc.size,
    histories: histories.length,
    entries,
    seqs,
  };
}

/** Walks one client's history of one document in the order it was seen. */
function checkClient(h: ClientDocHistory, log: DocumentLog, anomalies: AnomalyList): void {
  const { doc, client } = h;
  const report = (kind: AnomalyKind, detail: string, seq?: number) =>
    anomalies.add({ kind, doc, client, detail, ...(seq === undefined ? {} : { seq }) });

  let epoch: string | null = null;
  /** Last seq of the live stream on this connection; null when not joined. */
  let live: number | null = null;
  /** Next seq expected from the catch-up events of the last joined; null when none are due. */
  let catchUpNext: number | null = null;
  let catchUpLast = 0;
  // Coverage of the current segment (since the last snapshot): every seq up to
  // `contig` was received; `extra` holds the ones received beyond a hole.
  let contig = 0;
  const extra = new Set<number>();
  const answered = new Set<number>();

  const cover = (seq: number) => {
    if (seq <= contig) return;
    if (seq !== contig + 1) {
      extra.add(seq);
      return;
    }
    contig = seq;
    while (extra.delete(contig + 1)) contig++;
  };
  /** Reports the seqs missing from the segment that ends; true when some were. */
  const endSegment = (): boolean => {
    if (extra.size === 0) return false;
    const top = Math.max(...extra);
    const missing: number[] = [];
    for (let s = contig + 1; s < top && missing.length < 10_000; s++)
      if (!extra.has(s)) missing.push(s);
    report('hole', `never received seq ${describeRanges(missing)}`, contig + 1);
    extra.clear();
    return true;
  };
  const endCatchUp = () => {
    if (catchUpNext !== null && catchUpNext !== catchUpLast + 1) {
      report(
        'catch-up-gap',
        `joined at seq ${catchUpLast}, but the catch-up events stopped at ${catchUpNext - 1}`,
        catchUpNext,
      );
    }
    catchUpNext = null;
  };

  for (let i = 0; i < h.length; i++) {
    const kind = h.kinds[i] as EntryKind;
    const seq = h.seqs[i] as number;
    const cseq = h.cseqs[i] as number;
    if (catchUpNext !== null && kind !== EntryKind.catchUp) endCatchUp();
    switch (kind) {
      case EntryKind.joinedSnapshot: {
        const join = h.joins[h.who[i] as number];
        if (!join) break;
        if (epoch !== null && join.epoch === epoch && join.seq < contig)
          report('seq-regressed', `snapshot at seq ${join.seq} after having seq ${contig}`, seq);
        endSegment();
        epoch = join.epoch;
        contig = join.seq;
        live = join.seq;
        break;
      }
      case EntryKind.joinedEvents: {
        const join = h.joins[h.who[i] as number];
        if (!join) break;
        const since = join.since ?? 0;
        if (epoch !== join.epoch) {
          // Events continuing a history this client never had.
          endSegment();
          contig = since;
          epoch = join.epoch;
        } else if (since < contig) {
          // The client asked for seqs again (it had lost their effect): they count anew.
          contig = since;
          extra.clear();
        } else if (since > contig) {
          report('hole', `joined with since ${since} having received only up to ${contig}`, seq);
          contig = since;
        }
        catchUpNext = since + 1;
        catchUpLast = join.seq;
        live = join.seq;
        break;
      }
      case EntryKind.catchUp: {
        const op = { client: h.names[h.who[i] as number] as string, cseq };
        if (catchUpNext === null) report('catch-up-gap', `catch-up event ${seq} without a joined`);
        else if (seq > catchUpNext)
          report('catch-up-gap', `catch-up skipped seq ${describeRanges(range(catchUpNext, seq))}`);
        else if (seq < catchUpNext) report('duplicate', `catch-up repeated seq ${seq}`, seq);
        if (catchUpNext !== null) catchUpNext = Math.max(catchUpNext, seq + 1);
        cover(seq);
        if (op.client === client) answered.add(cseq);
        if (epoch !== null) log.observe(epoch, seq, op, client);
        break;
      }
      case EntryKind.event:
      case EntryKind.ack: {
        const op =
          kind === EntryKind.ack
            ? { client, cseq }
            : { client: h.names[h.who[i] as number] as string, cseq };
        const what = kind === EntryKind.ack ? `ack of cseq ${cseq}` : `event ${seq}`;
        if (live !== null) {
          if (seq > live + 1)
            report('gap', `${what} at seq ${seq} after seq ${live}, while connected`, seq);
          else if (seq <= live) report('duplicate', `${what} at seq ${seq} after seq ${live}`, seq);
          live = Math.max(live, seq);
        }
        cover(seq);
        if (kind === EntryKind.ack) {
          answered.add(cseq);
          if (epoch !== null) log.acked(epoch, seq, op);
        } else if (op.client === client) {
          report('own-event', `event ${seq} is its own cseq ${cseq}; it should be an ack`, seq);
        }
        if (epoch !== null) log.observe(epoch, seq, op, client);
        break;
      }
      case EntryKind.dupAck:
        answered.add(cseq);
        if (epoch !== null) log.dupAcked(epoch, Number.isNaN(seq) ? null : seq, { client, cseq });
        break;
      case EntryKind.disconnected:
        live = null;
        break;
    }
  }
  endCatchUp();
  const holes = endSegment();
  if (!holes && h.final && h.final.epoch === epoch && h.final.seq > contig) {
    report('hole', `the replica claims seq ${h.final.seq} but received only up to ${contig}`);
  }

  for (const { cseq, code } of h.refused) {
    answered.add(cseq);
    log.refusedOp({ client, cseq }, code);
  }
  const unanswered = h.sent.filter((cseq) => !answered.has(cseq));
  if (unanswered.length > 0) {
    report(
      'unacked',
      `${unanswered.length} op message(s) never answered: cseq ${describeRanges(unanswered)}`,
    );
  }
}

function range(from: number, to: number): number[] {
  const out: number[] = [];
  for (let s = from; s < to && out.length < 10_000; s++) out.push(s);
  return out;
}
