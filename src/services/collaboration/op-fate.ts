/**
 * What the server's records say about one op message (client, doc, cseq),
 * for a gateway whose answer to it went missing.
 *
 * - `applied`: it is event `seq` of `epoch`.
 * - `not-applied`: it is not, and no copy of it can be any more: a later op
 *   message of the same client was applied, and the history still holds
 *   every event in which it could have been placed.
 * - `pending`: not applied so far; it may still be in the queue.
 * - `forgotten`: the client has applied ops at or beyond it, but they are
 *   too old for the history to tell whether this one is among them.
 */
export type OpFate =
  | { kind: 'applied'; epoch: string; seq: number }
  | { kind: 'not-applied'; epoch: string }
  | { kind: 'pending' }
  | { kind: 'forgotten'; epoch: string };

/** The records the fate of an op is read from, taken atomically. */
export interface OpRecords {
  epoch: string;
  /** The dedupe record of the client: its highest applied cseq and the seq it became. */
  last: { cseq: number; seq: number } | null;
  /** The client's last applied op messages the dedupe record keeps (cseq, seq), oldest first. */
  window: ReadonlyArray<{ cseq: number; seq: number }>;
  /** The seq of the oldest event the history keeps (seq + 1 when it keeps none). */
  firstKept: number;
  /** The client's events in the kept history, as (seq, cseq). */
  clientEvents: ReadonlyArray<{ seq: number; cseq: number }>;
}

/**
 * The applied cseqs of one client in one document increase with seq (a cseq
 * not above the client's last applied one is a duplicate), so an op message
 * lies between the client's last event below it and its first event above
 * it. When both bounds are known and nothing lies between, it was skipped.
 */
export function judgeOp(records: OpRecords, cseq: number): OpFate {
  const { epoch, last, firstKept, clientEvents, window } = records;
  const hit =
    clientEvents.find((event) => event.cseq === cseq) ?? window.find((pair) => pair.cseq === cseq);
  if (hit) return { kind: 'applied', epoch, seq: hit.seq };
  if (last && last.cseq === cseq) return { kind: 'applied', epoch, seq: last.seq };
  if (!last || last.cseq < cseq) return { kind: 'pending' };
  const lowerBoundKept = firstKept <= 1 || clientEvents.some((event) => event.cseq < cseq);
  return lowerBoundKept ? { kind: 'not-applied', epoch } : { kind: 'forgotten', epoch };
}
