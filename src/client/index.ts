/**
 * The Flow Realtime client SDK (`flow-realtime/client`), for Node 20 and browsers.
 */
export { FlowClient } from './flow-client';
export type { ClientEvents, FlowClientOptions } from './client-options';
export { ConnectionState } from './connection';
export type { StateChange, TokenSource } from './connection';
export { DocumentHandle } from './document-handle';
export type {
  ChangeCause,
  DocumentEvents,
  JoinOptions,
  ReadonlyDocState,
  SubmitResult,
} from './document-types';
export type { Stall } from './stall-watch';
export { ClientErrorCodes, FlowError } from './errors';
export type { ClientErrorCode, FlowErrorCode } from './errors';
export type { BackoffOptions } from './backoff';
export type { WebSocketConstructor, WebSocketLike } from './transport';
export type { Listener } from './events';
export { ErrorCodes } from '../protocol/errors';
export type { ErrorCode } from '../protocol/errors';
export type {
  DocState,
  EventRecord,
  JsonObject,
  JsonValue,
  Op,
  PresenceEntry,
} from '../protocol/messages';
