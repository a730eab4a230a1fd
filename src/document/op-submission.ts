import type { ErrorCode, Op } from '../protocol';

/** One op message on its way into a document's order. */
export interface OpSubmission {
  doc: string;
  client: string;
  cseq: number;
  ops: Op[];
  /**
   * The token's `sub` of the sender when authentication is on: a client id's
   * dedupe record belongs to one user (see submitterKey).
   */
  user?: string | null;
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

/**
 * Whose dedupe record an op message counts in: its client id, and with
 * authentication its user too (PROTOCOL.md section 1: records are kept per
 * user and client id), so that another user presenting the same client id
 * later can neither be taken for its owner's resends nor silence its owner
 * with a huge cseq. Client ids cannot contain a tab; users may, after it.
 */
export function submitterKey(client: string, user: string | null | undefined): string {
  return user ? `${client}\t${user}` : client;
}

/** The client id and user of a submitterKey. */
export function splitSubmitterKey(key: string): { client: string; user: string | null } {
  const tab = key.indexOf('\t');
  return tab < 0
    ? { client: key, user: null }
    : { client: key.slice(0, tab), user: key.slice(tab + 1) };
}
