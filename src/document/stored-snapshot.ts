import type { DocState } from '../protocol';

/** A document as it is kept in durable storage: the state after every event up to `seq` of `epoch`. */
export interface StoredSnapshot {
  epoch: string;
  seq: number;
  state: DocState;
}

/** What a process about to write a document's snapshot finds (CollaborationService.readForSave). */
export type SnapshotRead =
  /** Write this; the process is the document's only writer until it records the save. */
  | { kind: 'snapshot'; snapshot: StoredSnapshot }
  /** The store already holds the latest seq (another process wrote it). */
  | { kind: 'stored'; seq: number }
  /** Another process is writing it now: try again later. */
  | { kind: 'busy' }
  /** The document has no session any more: nothing to write. */
  | { kind: 'gone' };
