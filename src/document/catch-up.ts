import type { DocState, EventRecord, PresenceEntry } from '../protocol';

export interface DocumentSnapshot {
  doc: string;
  epoch: string;
  seq: number;
  state: DocState;
}

/** The answer to opening a document: missed events when all are kept, a snapshot otherwise. */
export type CatchUp = (
  | { kind: 'events'; epoch: string; seq: number; events: EventRecord[] }
  | { kind: 'snapshot'; snapshot: DocumentSnapshot }
) & {
  /** With a document store only: the highest seq of this epoch it holds (0 when none). */
  savedSeq?: number;
};

export interface ResumePoint {
  seq: number;
  epoch: string;
}

/** A present client, with the gateway that holds its connection. */
export interface PresenceRecord extends PresenceEntry {
  node: string;
}

/** The seq a catch-up brings a member to: 0 for a document nobody has edited. */
export function seqOf(catchUp: CatchUp): number {
  return catchUp.kind === 'snapshot' ? catchUp.snapshot.seq : catchUp.seq;
}
