import type { ErrorCode } from '../protocol/errors';

/**
 * Codes the SDK raises itself, for failures no server reply describes. They
 * never collide with the protocol's codes (PROTOCOL.md section 6).
 */
export const ClientErrorCodes = {
  /** `close()` was called, or the document was left, before the request was answered. */
  CLIENT_CLOSED: 'CLIENT_CLOSED',
  /** The connection ended: a ping in flight, or a close the SDK does not recover from (1008). */
  DISCONNECTED: 'DISCONNECTED',
  /** The server did not answer a keepalive or a ping in time. */
  TIMEOUT: 'TIMEOUT',
  /**
   * The client id is taken: a newer connection with it took over (close 4409),
   * or it belongs to another user (upgrade refused with HTTP 409). Final.
   */
  CLIENT_ID_IN_USE: 'CLIENT_ID_IN_USE',
  /**
   * Whether the op message was applied is not known: the server no longer
   * remembers it (a `dup` answer without a seq), or the connection was lost
   * after a `leave()` before the answer came. The confirmed state shows it.
   */
  UNCONFIRMED: 'UNCONFIRMED',
} as const;

export type ClientErrorCode = (typeof ClientErrorCodes)[keyof typeof ClientErrorCodes];

export type FlowErrorCode = ErrorCode | ClientErrorCode;

export interface FlowErrorDetails {
  doc?: string;
  cseq?: number;
}

/** Every error the SDK hands out: a rejected promise or an `error` event. */
export class FlowError extends Error {
  readonly code: FlowErrorCode;
  readonly doc?: string;
  readonly cseq?: number;

  constructor(code: FlowErrorCode, message: string, details: FlowErrorDetails = {}) {
    super(message);
    this.name = 'FlowError';
    this.code = code;
    if (details.doc !== undefined) this.doc = details.doc;
    if (details.cseq !== undefined) this.cseq = details.cseq;
  }
}
