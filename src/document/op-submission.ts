import type { ErrorCode, Op } from '../protocol';

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
