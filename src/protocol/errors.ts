/** Error codes of PROTOCOL.md section 6. Stable: clients switch on them. */
export const ErrorCodes = {
  BAD_REQUEST: 'BAD_REQUEST',
  NOT_JOINED: 'NOT_JOINED',
  TOO_LARGE: 'TOO_LARGE',
  RATE_LIMITED: 'RATE_LIMITED',
  UNAUTHORIZED: 'UNAUTHORIZED',
  FORBIDDEN: 'FORBIDDEN',
  UNAVAILABLE: 'UNAVAILABLE',
  INTERNAL: 'INTERNAL',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

/** What each code means to a client author; docs/protocol.md mirrors this table. */
export const errorCodeMeaning: Record<ErrorCode, string> = {
  BAD_REQUEST: 'not JSON, unknown type, a field missing, of the wrong type or out of range',
  NOT_JOINED: 'op or presence for a document the client has not joined',
  TOO_LARGE: 'frame over the size limit',
  RATE_LIMITED: 'the client sends faster than its limit; the message was dropped',
  UNAUTHORIZED: 'token missing, malformed, badly signed or expired',
  FORBIDDEN: 'the token does not grant this document, or grants read only and an op was sent',
  UNAVAILABLE: 'a backend cannot take the request now; nothing was applied; retry later',
  INTERNAL: 'a bug; logged with the correlation id the message names',
};

/** WebSocket close codes of PROTOCOL.md section 6, shared by server and SDK. */
export const CloseCodes = {
  NORMAL: 1000,
  GOING_AWAY: 1001,
  POLICY_VIOLATION: 1008,
  MESSAGE_TOO_BIG: 1009,
  TRY_AGAIN_LATER: 1013,
  /** The token reached its `exp` on an open connection; reconnect with a fresh one. */
  TOKEN_EXPIRED: 4401,
  /** A newer connection with the same client id took over; do not reconnect with it. */
  CLIENT_ID_TAKEN_OVER: 4409,
} as const;

export type CloseCode = (typeof CloseCodes)[keyof typeof CloseCodes];

/** An error meant for a client: carries its protocol code and a message a person can act on. */
export class ProtocolError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ProtocolError';
  }
}

/** A backend (Redis, the queue) cannot take the request now; nothing was applied. */
export class UnavailableError extends ProtocolError {
  constructor(message: string) {
    super('UNAVAILABLE', message);
    this.name = 'UnavailableError';
  }
}
