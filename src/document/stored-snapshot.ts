import type { DocState } from '../protocol';

/** A document as it is kept in durable storage: the state after every event up to `seq` of `epoch`. */
export interface StoredSnapshot {
  epoch: string;
  seq: number;
  state: DocState;
}
