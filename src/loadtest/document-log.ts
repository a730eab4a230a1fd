import type { AnomalyList } from './anomalies';

/** One op message: the client that sent it and its cseq. */
interface OpId {
  client: string;
  cseq: number;
}

/** What the clients saw at one seq: the first op, and any other ops that someone else saw there. */
interface SeqView extends OpId {
  /** Who first reported it. */
  by: string;
  variants?: Array<OpId & { by: string }>;
}

interface EpochLog {
  bySeq: Map<number, SeqView>;
  /** `client \0 cseq` -> the seq it became */
  byOp: Map<string, number>;
}

interface AckRecord extends OpId {
  epoch: string;
  seq: number;
}

export interface ServerDocument {
  epoch: string;
  seq: number;
  /** stateDigest() of the server's state. */
  digest: string;
}

const opKey = (client: string, cseq: number) => `${client}\u0000${cseq}`;
const same = (a: OpId, b: OpId) => a.client === b.client && a.cseq === b.cseq;
const name = (op: OpId) => `${op.client}#${op.cseq}`;

/**
 * The order of one document as every client together saw it: which op
 * message each seq was, per epoch. Checks what needs all clients' views: one
 * op per seq, one seq per op, each client's ops in cseq order, acked ops kept.
 */
export class DocumentLog {
  private readonly epochs = new Map<string, EpochLog>();
  private readonly acks: AckRecord[] = [];
  private readonly dupAcks: Array<AckRecord & { by: string }> = [];
  private readonly refused: Array<OpId & { code: string }> = [];
  private readonly divergentSeqs = new Set<string>();
  private readonly twiceApplied = new Set<string>();

  constructor(
    readonly doc: string,
    private readonly anomalies: AnomalyList,
  ) {}

  get epochCount(): number {
    return this.epochs.size;
  }

  get opCount(): number {
    let n = 0;
    for (const log of this.epochs.values()) n += log.bySeq.size;
    return n;
  }

  /** `by` saw op (client, cseq) at `seq` (as an event, a catch-up event or its own ack). */
  observe(epoch: string, seq: number, op: OpId, by: string): void {
    const log = this.epochLog(epoch);
    const view = log.bySeq.get(seq);
    if (!view) log.bySeq.set(seq, { ...op, by });
    else if (!same(view, op)) {
      view.variants ??= [];
      if (!view.variants.some((v) => same(v, op))) view.variants.push({ ...op, by });
      const key = `${epoch}|${seq}`;
      if (!this.divergentSeqs.has(key)) {
        this.divergentSeqs.add(key);
        this.anomalies.add({
          kind: 'divergent',
          doc: this.doc,
          seq,
          detail: `seq ${seq}: ${view.by} saw ${name(view)}, ${by} saw ${name(op)}`,
        });
      }
    }
    const key = opKey(op.client, op.cseq);
    const at = log.byOp.get(key);
    if (at === undefined) log.byOp.set(key, seq);
    else if (at !== seq && !this.twiceApplied.has(`${epoch}|${key}`)) {
      this.twiceApplied.add(`${epoch}|${key}`);
      this.anomalies.add({
        kind: 'applied-twice',
        doc: this.doc,
        client: op.client,
        seq,
        detail: `${name(op)} appears at seq ${at} and at seq ${seq} (seen by ${by})`,
      });
    }
  }

  acked(epoch: string, seq: number, op: OpId): void {
    this.acks.push({ ...op, epoch, seq });
  }

  /** A duplicate ack; `seq` null when the server no longer knows the op. */
  dupAcked(epoch: string, seq: number | null, op: OpId): void {
    if (seq !== null) this.dupAcks.push({ ...op, epoch, seq, by: op.client });
  }

  refusedOp(op: OpId, code: string): void {
    this.refused.push({ ...op, code });
  }

  /** The checks that need every client's view; call once all histories are observed. */
  finish(server: ServerDocument | null): void {
    this.checkCseqOrder();
    this.checkDupAcks();
    this.checkAcks(server);
    for (const op of this.refused) {
      for (const [epoch, log] of this.epochs) {
        const seq = log.byOp.get(opKey(op.client, op.cseq));
        if (seq === undefined) continue;
        this.anomalies.add({
          kind: 'refused-but-applied',
          doc: this.doc,
          client: op.client,
          seq,
          detail: `${name(op)} was refused with ${op.code} but is seq ${seq} of epoch ${epoch}`,
        });
      }
    }
  }

  private epochLog(epoch: string): EpochLog {
    let log = this.epochs.get(epoch);
    if (!log) this.epochs.set(epoch, (log = { bySeq: new Map(), byOp: new Map() }));
    return log;
  }

  /** In seq order, each client's cseqs must increase. */
  private checkCseqOrder(): void {
    for (const log of this.epochs.values()) {
      const seqs = [...log.bySeq.keys()].sort((a, b) => a - b);
      const last = new Map<string, { cseq: number; seq: number }>();
      for (const seq of seqs) {
        const view = log.bySeq.get(seq) as SeqView;
        const before = last.get(view.client);
        if (before && view.cseq < before.cseq) {
          this.anomalies.add({
            kind: 'cseq-order',
            doc: this.doc,
            client: view.client,
            seq,
            detail: `${view.client}: cseq ${view.cseq} applied at seq ${seq}, after cseq ${before.cseq} at seq ${before.seq}`,
          });
        }
        if (!before || view.cseq > before.cseq) last.set(view.client, { cseq: view.cseq, seq });
      }
    }
  }

  private checkDupAcks(): void {
    for (const dup of this.dupAcks) {
      const log = this.epochLog(dup.epoch);
      const at = log.byOp.get(opKey(dup.client, dup.cseq));
      const view = log.bySeq.get(dup.seq);
      const wrongSeq = at !== undefined && at !== dup.seq;
      const wrongOp = view !== undefined && !same(view, dup);
      if (wrongSeq || wrongOp) {
        this.anomalies.add({
          kind: 'dup-ack-mismatch',
          doc: this.doc,
          client: dup.client,
          seq: dup.seq,
          detail: wrongSeq
            ? `duplicate ack of ${name(dup)} names seq ${dup.seq}; it was applied at seq ${at}`
            : `duplicate ack of ${name(dup)} names seq ${dup.seq}, which is ${name(view as SeqView)}`,
        });
      } else if (at === undefined) {
        // Nobody else saw that seq: the duplicate ack is the only witness.
        this.observe(dup.epoch, dup.seq, dup, dup.by);
      }
    }
  }

  /** Every acked op must be in the history the server still has, at the seq it was acked with. */
  private checkAcks(server: ServerDocument | null): void {
    if (!server) return;
    for (const ack of this.acks) {
      let why: string | undefined;
      if (ack.epoch !== server.epoch)
        why = `acked in epoch ${ack.epoch}; the document is now in epoch ${server.epoch}`;
      else if (ack.seq > server.seq) why = `the document's seq is only ${server.seq}`;
      else {
        const view = this.epochs.get(ack.epoch)?.bySeq.get(ack.seq);
        const other = view && [view, ...(view.variants ?? [])].find((v) => !same(v, ack));
        if (other) why = `${other.by} saw ${name(other)} at that seq`;
      }
      if (why) {
        this.anomalies.add({
          kind: 'lost-acked-op',
          doc: this.doc,
          client: ack.client,
          seq: ack.seq,
          detail: `${name(ack)} was acked as seq ${ack.seq}, but ${why}`,
        });
      }
    }
  }
}
