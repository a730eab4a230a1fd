import type { Rejection } from '../protocol';
import type { ConnectionLimits } from './connection-host';

/**
 * The refusals of a connection's requests, in words that say what to do. Each
 * names the document, and the op's cseq where there is one, so that a client
 * can tell which request was not carried out.
 */
interface Request {
  doc: string;
  ref?: string | undefined;
  cseq?: number;
}

const refusal = (code: Rejection['code'], message: string, request: Request): Rejection => ({
  code,
  message,
  ...request,
});

export const RequestRefusals = {
  notGranted: (request: Request) =>
    refusal(
      'FORBIDDEN',
      `your token does not grant document "${request.doc}"; ask for a token that does`,
      request,
    ),
  readOnly: (request: Request) =>
    refusal(
      'FORBIDDEN',
      `your token grants document "${request.doc}" read only; ops need a write grant`,
      request,
    ),
  notJoined: (request: Request, what: 'ops' | 'presence') =>
    refusal('NOT_JOINED', `join document "${request.doc}" before sending ${what} to it`, request),
  tooManyDocuments: (request: Request, limits: ConnectionLimits) =>
    refusal(
      'BAD_REQUEST',
      `a connection may join at most ${limits.docsPerConnection} documents; leave one first`,
      request,
    ),
  tooManyNewDocuments: (request: Request, limits: ConnectionLimits) =>
    refusal(
      'RATE_LIMITED',
      `more than ${limits.newDocsPerMinute} new (never edited) documents per minute for this user; this join was dropped, wait before opening more`,
      request,
    ),
  joinSuperseded: (request: Request) =>
    refusal(
      'BAD_REQUEST',
      `this join of "${request.doc}" was superseded by a later join or leave of it`,
      request,
    ),
  presenceLimited: (request: Request, limits: ConnectionLimits) =>
    refusal(
      'RATE_LIMITED',
      `more than ${limits.presencePerSecond} presence updates per second; this one was dropped`,
      request,
    ),
  leftBeforeSent: (request: Request) =>
    refusal(
      'UNAVAILABLE',
      'you left the document before this op was sent; nothing was applied',
      request,
    ),
};
