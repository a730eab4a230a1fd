import type {
  CatchUp,
  DocumentSnapshot,
  PresenceRecord,
  ResumePoint,
} from '../../document/catch-up';
import type { Fence } from '../../document/fence';
import type { ApplyOutcome, OpSubmission } from '../../document/op-submission';
import type { EventRecord, JsonObject } from '../../protocol';
import type { OpFate } from './op-fate';
import type { SnapshotRead } from '../../document/stored-snapshot';

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
  /**
   * What became of op messages `cseqs` of one submitter of the document (its
   * client id, or submitterKey(client, user) with authentication; one
   * fate per cseq, in order), from its history and dedupe record read
   * together: for answers that got lost on the way.
   */
  findOps(doc: string, submitter: string, cseqs: readonly number[]): Promise<OpFate[]>;
  /** The current snapshot, or null when the document has no session. */
  snapshot(doc: string): Promise<DocumentSnapshot | null>;
  /**
   * Applies op messages of one document in the given order, each atomically:
   * dedupe by (client, doc, cseq), next seq, state, history.
   */
  applyBatch(doc: string, batch: readonly OpSubmission[], fence?: Fence): Promise<ApplyOutcome[]>;
  /**
   * Removes the document's session when nobody ever edited it (seq 0) and no
   * presence is recorded, so that joins of documents that are then left
   * leave nothing behind; true when it did. A later join starts it afresh.
   * In Redis, ops waiting in its ordering queue keep it too: members joined
   * at its epoch sent them, and must not find their ops in another epoch.
   */
  dropIfBlank(doc: string): Promise<boolean>;
  setPresence(doc: string, record: PresenceRecord): Promise<void>;
  clearPresence(doc: string, client: string): Promise<void>;
  listPresence(doc: string): Promise<PresenceRecord[]>;
  /**
   * With a document store: the snapshot to write now. The caller is then the
   * document's only writer until it calls recordSaved (or, in Redis, until
   * the saver lease ends).
   */
  readForSave(doc: string): Promise<SnapshotRead>;
  /** With a document store: it now holds `doc` up to `seq` of `epoch` (savedSeq of later joins). */
  recordSaved(doc: string, seq: number, epoch: string): Promise<void>;
  /**
   * Documents in Redis with a document store: loads `doc` from the store when
   * Redis has no session of it (an ordering worker's take found none).
   */
  restore?(doc: string): Promise<void>;
  close(): Promise<void>;
}

export type { JsonObject, OpFate };
