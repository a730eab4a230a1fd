import type { ClientMessage, EventRecord, JsonObject, PresenceEntry } from '../protocol/messages';
import type { BackoffOptions } from './backoff';
import type { FlowError } from './errors';
import type { LateAnswers } from './late-answers';
import type { Stall } from './stall-watch';
import type { ReplyHandler } from './requests';

/** What a document needs from its client; `FlowClient` implements it. */
export interface DocumentLink {
  /** The id the server knows this client by; own events carry it. */
  clientId(): string;
  /** The generation of the open connection, 0 when none is open. */
  generation(): number;
  readonly maxFrameBytes: number;
  /** Backoff between re-joins that the server refused for now (UNAVAILABLE, RATE_LIMITED). */
  readonly retry: BackoffOptions;
  /** Not joined for this long (ms) is reported as `stalled`; 0 never. */
  readonly stallAfterMs: number;
  send(message: ClientMessage): boolean;
  /** Sends with a fresh `ref`; false, and no handler kept, when no connection is open. */
  request(message: ClientMessage, handler: ReplyHandler): boolean;
  nextCseq(doc: string): number;
  /** Op message `cseq` of this client was seen applied: later ones must be numbered above it. */
  observeCseq(doc: string, cseq: number): void;
  /** Answers owed for ops sent before a leave: the client routes them there until all came. */
  awaitAnswers(answers: LateAnswers): void;
  /** The handle is finished; the client forgets it. */
  detach(doc: string, handle: object): void;
}

/**
 * Why the visible state changed: `local` when this client's pending layer
 * changed (a submit, a rollback), `remote` when events were placed in the
 * confirmed state, `snapshot` when a join replaced it.
 */
export type ChangeCause = 'local' | 'remote' | 'snapshot';

export type { SubmitResult } from './submit-result';

export interface DocumentEvents {
  change: { cause: ChangeCause; seq: number };
  /** Another client's event, placed in the confirmed state, in seq order. */
  event: EventRecord;
  /** A submit settled. */
  ack: { cseq: number; seq: number | null; dup: boolean };
  /** The other clients present, after any change. */
  presence: ReadonlyMap<string, PresenceEntry>;
  /** A re-join after a reconnect or a gap completed. */
  resync: { snapshot: boolean; epochChanged: boolean; epoch: string; seq: number };
  /**
   * The server put every event up to `seq` into durable storage (its `saved`
   * message, or a join's `savedSeq`). Only from a server with a document store.
   */
  saved: { seq: number };
  /**
   * The document has not been joined for `stallAfterMs`: the SDK keeps
   * trying, but edits are not being saved. Emitted once per outage; the
   * next `resync` ends it.
   */
  stalled: Stall;
  /** A failure about this document that no promise reports, e.g. a refused re-join. */
  error: FlowError;
}

export interface JoinOptions {
  /** This client's presence, sent with the join and again with every re-join. */
  presence?: JsonObject;
}

/** A state no one may change: its entities are shared with the SDK's own copy. */
export type ReadonlyDocState = Readonly<
  Record<string, Readonly<Record<string, Readonly<JsonObject>>>>
>;
