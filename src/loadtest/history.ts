/**
 * What one client saw of one document during a load test, in the order it saw
 * it: the input of the checker (checker.ts). A run records millions of
 * entries, so they are kept in columns of typed arrays that cross a
 * worker_threads boundary without copying; `HistoryRecorder` writes them and
 * is also how tests build histories by hand.
 */

/** What an entry is. `joined*` entries start a session; `catchUp` entries follow a `joinedEvents`. */
export const EntryKind = {
  /** `joined` with a snapshot at `seq`. */
  joinedSnapshot: 1,
  /** `joined` with the events after `since`; they follow as `catchUp` entries. */
  joinedEvents: 2,
  /** a live `event` from another client */
  event: 3,
  /** one element of `joined.events` */
  catchUp: 4,
  /** an `ack` without `dup` */
  ack: 5,
  /** an `ack` with `dup: true`; its seq is NaN when the server sent null */
  dupAck: 6,
  /** the connection closed; the next entry is a `joined*` or nothing */
  disconnected: 7,
} as const;
export type EntryKind = (typeof EntryKind)[keyof typeof EntryKind];

export interface JoinRecord {
  epoch: string;
  seq: number;
  /** The `since` the join asked with; null for a join without one. */
  since: number | null;
}

/** The replica a client holds at the end, compared with `GET /docs/:doc`. */
export interface FinalReplica {
  epoch: string | null;
  seq: number;
  /** stateDigest() of the replica's state. */
  digest: string;
}

export interface ClientDocHistory {
  client: string;
  doc: string;
  /** Entry count; the columns may be longer. */
  length: number;
  kinds: Uint8Array;
  /** seq of the entry; the snapshot/last seq for a joined; NaN for a dup ack with a null seq. */
  seqs: Float64Array;
  /** The op's client as an index into `names` (event, catch-up); the index into `joins` for a joined. */
  who: Int32Array;
  /** cseq of the op (event, catch-up, ack, dup ack). */
  cseqs: Float64Array;
  names: string[];
  joins: JoinRecord[];
  /** Every cseq this client created for this document, in creation order (resends not repeated). */
  sent: number[];
  /** Op messages the server refused with an error: not applied, not retried. */
  refused: Array<{ cseq: number; code: string }>;
  final: FinalReplica | null;
}

const INITIAL_CAPACITY = 64;

/** Appends entries to one ClientDocHistory. */
export class HistoryRecorder {
  private length = 0;
  private kinds = new Uint8Array(INITIAL_CAPACITY);
  private seqs = new Float64Array(INITIAL_CAPACITY);
  private who = new Int32Array(INITIAL_CAPACITY);
  private cseqs = new Float64Array(INITIAL_CAPACITY);
  private readonly names: string[] = [];
  private readonly nameIndex = new Map<string, number>();
  private readonly joins: JoinRecord[] = [];
  private readonly sent: number[] = [];
  private readonly refused: Array<{ cseq: number; code: string }> = [];
  private final: FinalReplica | null = null;

  constructor(
    readonly client: string,
    readonly doc: string,
  ) {}

  get entries(): number {
    return this.length;
  }

  joinedSnapshot(epoch: string, seq: number, since: number | null = null): this {
    this.joins.push({ epoch, seq, since });
    return this.push(EntryKind.joinedSnapshot, seq, this.joins.length - 1, 0);
  }

  /** Record the catch-up events with `catchUp` right after this. */
  joinedEvents(epoch: string, seq: number, since: number): this {
    this.joins.push({ epoch, seq, since });
    return this.push(EntryKind.joinedEvents, seq, this.joins.length - 1, 0);
  }

  catchUp(seq: number, client: string, cseq: number): this {
    return this.push(EntryKind.catchUp, seq, this.nameOf(client), cseq);
  }

  event(seq: number, client: string, cseq: number): this {
    return this.push(EntryKind.event, seq, this.nameOf(client), cseq);
  }

  ack(seq: number, cseq: number): this {
    return this.push(EntryKind.ack, seq, -1, cseq);
  }

  dupAck(seq: number | null, cseq: number): this {
    return this.push(EntryKind.dupAck, seq ?? NaN, -1, cseq);
  }

  disconnected(): this {
    return this.push(EntryKind.disconnected, NaN, -1, 0);
  }

  created(cseq: number): this {
    this.sent.push(cseq);
    return this;
  }

  refusedOp(cseq: number, code: string): this {
    this.refused.push({ cseq, code });
    return this;
  }

  finish(final: FinalReplica | null): this {
    this.final = final;
    return this;
  }

  /** The history; its typed arrays are trimmed copies, safe to transfer. */
  toHistory(): ClientDocHistory {
    return {
      client: this.client,
      doc: this.doc,
      length: this.length,
      kinds: this.kinds.slice(0, this.length),
      seqs: this.seqs.slice(0, this.length),
      who: this.who.slice(0, this.length),
      cseqs: this.cseqs.slice(0, this.length),
      names: [...this.names],
      joins: [...this.joins],
      sent: [...this.sent],
      refused: [...this.refused],
      final: this.final,
    };
  }

  private nameOf(client: string): number {
    let index = this.nameIndex.get(client);
    if (index === undefined) {
      index = this.names.push(client) - 1;
      this.nameIndex.set(client, index);
    }
    return index;
  }

  private push(kind: EntryKind, seq: number, who: number, cseq: number): this {
    if (this.length === this.kinds.length) this.grow();
    const i = this.length++;
    this.kinds[i] = kind;
    this.seqs[i] = seq;
    this.who[i] = who;
    this.cseqs[i] = cseq;
    return this;
  }

  private grow(): void {
    const capacity = this.kinds.length * 2;
    const kinds = new Uint8Array(capacity);
    kinds.set(this.kinds);
    const seqs = new Float64Array(capacity);
    seqs.set(this.seqs);
    const who = new Int32Array(capacity);
    who.set(this.who);
    const cseqs = new Float64Array(capacity);
    cseqs.set(this.cseqs);
    this.kinds = kinds;
    this.seqs = seqs;
    this.who = who;
    this.cseqs = cseqs;
  }
}

/** The transferable buffers of some histories (postMessage transfer list). */
export function historyBuffers(histories: readonly ClientDocHistory[]): ArrayBuffer[] {
  const buffers: ArrayBuffer[] = [];
  for (const h of histories) {
    for (const column of [h.kinds, h.seqs, h.who, h.cseqs]) {
      buffers.push(column.buffer as ArrayBuffer);
    }
  }
  return buffers;
}
