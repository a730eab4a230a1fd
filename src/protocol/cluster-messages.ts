import type { ApplyOutcome } from '../document/op-submission';
import type { JsonObject } from './messages';

/** What travels between processes on a document's channel. */
export type DocumentBroadcast =
  | { kind: 'outcomes'; doc: string; outcomes: ApplyOutcome[] }
  | {
      kind: 'presence';
      doc: string;
      /** The gateway that received it; it has already delivered it locally. */
      origin: string;
      client: string;
      user: string | null;
      state: JsonObject | null;
    }
  /** The document store now holds every event of the document up to `seq`. */
  | { kind: 'saved'; doc: string; seq: number };
