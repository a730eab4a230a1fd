import type { ErrorCode } from './errors';

export const PROTOCOL_VERSION = 1;

/** A JSON object as stored for an entity or presence state. */
export type JsonObject = { [key: string]: JsonValue };
export type JsonValue = string | number | boolean | null | JsonValue[] | JsonObject;

export interface SetOp {
  op: 'set';
  coll: string;
  id: string;
  value: JsonObject;
}
export interface PatchOp {
  op: 'patch';
  coll: string;
  id: string;
  fields: JsonObject;
}
export interface DelOp {
  op: 'del';
  coll: string;
  id: string;
}
export type Op = SetOp | PatchOp | DelOp;

/** A document's state: collection name -> entity id -> entity. */
export type DocState = Record<string, Record<string, JsonObject>>;

/** One applied op message as kept in the history and sent in `joined.events`. */
export interface EventRecord {
  seq: number;
  client: string;
  cseq: number;
  ops: Op[];
}

export interface PresenceEntry {
  client: string;
  user: string | null;
  state: JsonObject;
}

// ---- client to server --------------------------------------------------

interface WithRef {
  ref?: string;
}
export interface JoinMessage extends WithRef {
  type: 'join';
  doc: string;
  since?: number;
  epoch?: string;
  presence?: JsonObject;
}
export interface LeaveMessage extends WithRef {
  type: 'leave';
  doc: string;
}
export interface OpMessage extends WithRef {
  type: 'op';
  doc: string;
  cseq: number;
  ops: Op[];
}
export interface PresenceMessage extends WithRef {
  type: 'presence';
  doc: string;
  state: JsonObject | null;
}
export interface PingMessage extends WithRef {
  type: 'ping';
}
export type ClientMessage = JoinMessage | LeaveMessage | OpMessage | PresenceMessage | PingMessage;

// ---- server to client --------------------------------------------------

export interface WelcomeMessage {
  type: 'welcome';
  protocol: typeof PROTOCOL_VERSION;
  client: string;
  node: string;
}
export interface JoinedSnapshotMessage extends WithRef {
  type: 'joined';
  doc: string;
  epoch: string;
  seq: number;
  state: DocState;
  presence: PresenceEntry[];
  /** Present only when the server has a document store: the highest seq in durable storage. */
  savedSeq?: number;
}
export interface JoinedEventsMessage extends WithRef {
  type: 'joined';
  doc: string;
  epoch: string;
  seq: number;
  events: EventRecord[];
  presence: PresenceEntry[];
  /** Present only when the server has a document store: the highest seq in durable storage. */
  savedSeq?: number;
}
export type JoinedMessage = JoinedSnapshotMessage | JoinedEventsMessage;
export interface LeftMessage extends WithRef {
  type: 'left';
  doc: string;
}
export interface AckMessage extends WithRef {
  type: 'ack';
  doc: string;
  cseq: number;
  seq: number | null;
  dup?: true;
}
export interface EventMessage {
  type: 'event';
  doc: string;
  seq: number;
  client: string;
  cseq: number;
  ops: Op[];
}
export interface PresenceUpdateMessage {
  type: 'presence';
  doc: string;
  client: string;
  user: string | null;
  state: JsonObject | null;
}
/** Every event of `doc` up to `seq` is in durable storage; `seq` only grows within an epoch. */
export interface SavedMessage {
  type: 'saved';
  doc: string;
  seq: number;
}
export interface PongMessage extends WithRef {
  type: 'pong';
}
export interface ErrorMessage extends WithRef {
  type: 'error';
  code: ErrorCode;
  message: string;
  doc?: string;
  cseq?: number;
}
export type ServerMessage =
  | WelcomeMessage
  | JoinedMessage
  | LeftMessage
  | AckMessage
  | EventMessage
  | PresenceUpdateMessage
  | SavedMessage
  | PongMessage
  | ErrorMessage;
