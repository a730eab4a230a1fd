import type {
  DocState,
  ErrorCode,
  EventRecord,
  JsonObject,
  Op,
  PresenceEntry,
} from '../../protocol';

/** One op message on its way into a document's order. */
export interface OpSubmission {
  doc: string;
  client: string;
  cseq: number;
  ops: Op[];
  /** The client's `ref`, copied into its ack. */
  ref?: string;
  /** When a gateway accepted it (ms since the epoch, that gateway's clock), for the ordering lag. */
  acceptedAt?: number;
  /**
   * The highest seq the submitting gateway had delivered for the document, and
   * its epoch: a history found below it lost acknowledged ops (apply-6).
   */
  seen?: { epoch: string; seq: number };
}

/** What became of one submission: the sender's gateway turns it into ack, event or error. */
export type ApplyOutcome =
  | {
      kind: 'applied';
      doc: string;
      epoch: string;
      seq: number;
      client: string;
      cseq: number;
      ops: Op[];
      ref?: string;
    }
  | {
      kind: 'duplicate';
      doc: string;
      epoch: string;
      /** The seq it became, or null when the server no longer knows it. */
      seq: number | null;
      client: string;
      cseq: number;
      ref?: string;
    }
  | {
      kind: 'rejected';
      doc: string;
      client: string;
      cseq: number;
      code: ErrorCode;
      message: string;
      ref?: string;
    };

export interface DocumentSnapshot {
  doc: string;
  epoch: string;
  seq: number;
  state: DocState;
}

/** The answer to opening a document: missed events when all are kept, a snapshot otherwise. */
export type CatchUp =
  | { kind: 'events'; epoch: string; seq: number; events: EventRecord[] }
  | { kind: 'snapshot'; snapshot: DocumentSnapshot };

export interface ResumePoint {
  seq: number;
  epoch: string;
}

/** A present client, with the gateway that holds its connection. */
export interface PresenceRecord extends PresenceEntry {
  node: string;
}

/**
 * Proof that the caller still holds a document's processing claim. The Redis
 * backend checks it inside the atomic apply, so a worker that lost its claim
 * (paused, partitioned) cannot apply after another took over.
 */
export interface Fence {
  owner: string;
  token: number;
}

/**
 * The apply was refused because another worker claimed the document after
 * the caller did. Nothing was applied; the caller must stop processing it.
 */
export class FencedError extends Error {
  constructor(doc: string) {
    super(`processing claim on document "${doc}" was taken over by another worker`);
    this.name = 'FencedError';
  }
}

/** Sessions, document state, bounded history and presence of every document. */
export interface CollaborationService {
  readonly mode: 'memory' | 'redis';
  /**
   * Opens the document's session, creating it (new epoch, seq 0) when absent,
   * and returns what a joining client needs: the events after `resume` when
   * the epoch matches and all are kept, otherwise a snapshot.
   */
  open(doc: string, resume?: ResumePoint): Promise<CatchUp>;
  /** Events after `afterSeq` of `epoch`, or null when not all of them are kept. */
  eventsAfter(doc: string, epoch: string, afterSeq: number): Promise<EventRecord[] | null>;
  /** The current snapshot, or null when the document has no session. */
  snapshot(doc: string): Promise<DocumentSnapshot | null>;
  /**
   * Applies op messages of one document in the given order, each atomically:
   * dedupe by (client, doc, cseq), next seq, state, history.
   */
  applyBatch(doc: string, batch: readonly OpSubmission[], fence?: Fence): Promise<ApplyOutcome[]>;
  setPresence(doc: string, record: PresenceRecord): Promise<void>;
  clearPresence(doc: string, client: string): Promise<void>;
  listPresence(doc: string): Promise<PresenceRecord[]>;
  close(): Promise<void>;
}

export type { JsonObject };
