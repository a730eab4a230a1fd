import type { DocState, EventRecord } from '../../protocol';
import type { DocumentSnapshot, PresenceRecord } from '../../document/catch-up';
import type { OpRecords } from './op-fate';
import type { DedupePairs } from './dedupe-bounds';

/**
 * The submitter (submitterKey) of a kept event, when it is not the client id
 * alone: a hidden property (a symbol, not enumerable), because kept events go
 * to clients as they are, and clients see only seq, client, cseq and ops.
 */
export const SUBMITTER = Symbol('submitter');
export type KeptEvent = EventRecord & { [SUBMITTER]?: string };

/**
 * One document as the in-memory collaboration service holds it (the memory
 * counterpart of a document's Redis keys), and the reads of it that need
 * nothing else: the events after a point, a snapshot, the records an op's
 * fate is judged by. Apart from the service, which finds, seeds and expires
 * these records, as the Redis scripts are apart from theirs.
 */
export interface MemorySession {
  epoch: string;
  seq: number;
  state: DocState;
  /** The last `historyLength` events, oldest first, contiguous up to `seq`. */
  history: KeptEvent[];
  /**
   * Per submitter (submitterKey: the client id, with authentication its user
   * too): its last DEDUPE_WINDOW applied op messages, oldest first (the
   * dedupe record); the last one is its highest applied cseq.
   */
  lastApplied: Map<string, DedupePairs>;
  presence: Map<string, PresenceRecord>;
  touchedAt: number;
  /** Highest seq of this epoch the document store holds (0 when none). */
  savedSeq: number;
  /** The state's kept size (see document-size.ts); computed on first need. */
  size?: number;
}

/** Events after `afterSeq` of `epoch`, or null when not all of them are kept. */
export function eventsOf(
  session: MemorySession,
  epoch: string,
  afterSeq: number,
): EventRecord[] | null {
  if (epoch !== session.epoch || afterSeq > session.seq) return null;
  if (afterSeq === session.seq) return [];
  const first = session.history[0]?.seq ?? session.seq + 1;
  if (afterSeq + 1 < first) return null;
  return session.history.slice(afterSeq + 1 - first);
}

/**
 * Entities are never mutated in place (a patch builds a new object), so a
 * snapshot only copies the collection maps.
 */
export function snapshotOf(doc: string, session: MemorySession): DocumentSnapshot {
  const state: DocState = {};
  for (const [coll, entities] of Object.entries(session.state)) state[coll] = { ...entities };
  return { doc, epoch: session.epoch, seq: session.seq, state };
}

/** The records the fates of a submitter's op messages are judged by (see submitterKey). */
export function opRecordsOf(session: MemorySession, submitter: string): OpRecords {
  const clientEvents = session.history
    .filter((event) => (event[SUBMITTER] ?? event.client) === submitter)
    .map(({ seq, cseq: applied }) => ({ seq, cseq: applied }));
  return {
    epoch: session.epoch,
    last: session.lastApplied.get(submitter)?.at(-1) ?? null,
    window: session.lastApplied.get(submitter) ?? [],
    firstKept: session.history[0]?.seq ?? session.seq + 1,
    clientEvents,
  };
}
