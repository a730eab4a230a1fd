import { MAX_OPS_PER_MESSAGE } from '../protocol/limits';
import type { DocState, JsonObject, Op, OpMessage, PresenceEntry } from '../protocol/messages';
import type { HandleHost } from './handle-host';
import type { DocumentEvents, ReadonlyDocState, SubmitResult } from './document-types';
import { ClientErrorCodes, FlowError } from './errors';
import type { Listener } from './events';
import { checkOutgoing } from './outgoing';

/**
 * What `FlowClient.join` gives: one document as this client sees it, the
 * server's confirmed state with this client's unacknowledged op messages
 * applied on top, and the means to change it.
 */
export class DocumentHandle {
  /** @internal Created by the session behind it. */
  constructor(private readonly session: HandleHost) {}

  get doc(): string {
    return this.session.doc;
  }

  /**
   * The visible state: confirmed, with the pending op messages re-applied in
   * cseq order. Read only; later changes may mutate it in place, so take
   * `snapshot()` to keep a version.
   */
  get state(): ReadonlyDocState {
    return this.session.replica.state;
  }

  /** The server's state at `seq`, without this client's pending op messages. */
  get confirmedState(): ReadonlyDocState {
    return this.session.replica.confirmedState;
  }

  /** The last event in the confirmed state. */
  get seq(): number {
    return this.session.replica.seq;
  }

  get epoch(): string | undefined {
    return this.session.replica.epoch;
  }

  /**
   * The highest seq the server reported in durable storage; undefined when
   * the server has no document store (its `joined` carries no `savedSeq`).
   */
  get savedSeq(): number | undefined {
    return this.session.saved.seq;
  }

  /** Op messages submitted and not yet placed in the server order. */
  get pendingCount(): number {
    return this.session.replica.pendingMessages.length;
  }

  /** The other clients present, by client id. */
  get presence(): ReadonlyMap<string, PresenceEntry> {
    return this.session.others;
  }

  /** Joined on the current connection: false while offline or re-joining, and after leave(). */
  get joined(): boolean {
    return this.session.live;
  }

  /** Not joined for longer than `stallAfterMs`, and still trying (see the `stalled` event). */
  get stalled(): boolean {
    return this.session.stall.stalled;
  }

  /** A deep copy of the visible state. */
  snapshot(): DocState {
    return JSON.parse(JSON.stringify(this.session.replica.state)) as DocState;
  }

  on<K extends keyof DocumentEvents>(event: K, listener: Listener<DocumentEvents[K]>): () => void {
    return this.session.on(event, listener);
  }

  once<K extends keyof DocumentEvents>(
    event: K,
    listener: Listener<DocumentEvents[K]>,
  ): () => void {
    return this.session.once(event, listener);
  }

  /**
   * Applies `ops` to the visible state at once and sends them as one op
   * message, or after the re-join when offline. Resolves when the server has
   * placed it; rejects with the server's error, and the optimistic change is
   * rolled back. A bad op rejects before anything is applied.
   */
  submit(ops: readonly Op[]): Promise<SubmitResult> {
    const { session } = this;
    if (session.left) return Promise.reject(this.notJoined('submit to'));
    if (!Array.isArray(ops) || ops.length < 1 || ops.length > MAX_OPS_PER_MESSAGE) {
      const message = `submit 1 to ${MAX_OPS_PER_MESSAGE} ops at a time`;
      return Promise.reject(new FlowError('BAD_REQUEST', message, { doc: this.doc }));
    }
    let message: OpMessage;
    try {
      const cseq = session.link.nextCseq(this.doc);
      const draft: OpMessage = { type: 'op', doc: this.doc, cseq, ops: [...ops] };
      message = checkOutgoing(draft, session.link.maxFrameBytes);
    } catch (err) {
      return Promise.reject(err);
    }
    return session.submit(message);
  }

  /** Sets this client's presence for the others; null clears it. Sent again on every re-join. */
  setPresence(state: JsonObject | null): void {
    if (this.session.left) throw this.notJoined('set presence on');
    const draft = { type: 'presence', doc: this.doc, state } as const;
    this.session.setPresence(checkOutgoing(draft, this.session.link.maxFrameBytes));
  }

  /**
   * Unsubscribes; resolves once the server confirmed or the connection is
   * gone. Pending submits reject: whether the server applied them is unknown.
   */
  leave(): Promise<void> {
    return this.session.leave();
  }

  private notJoined(action: string): FlowError {
    const message = `cannot ${action} ${this.doc}: it was left or the client closed`;
    return new FlowError(ClientErrorCodes.CLIENT_CLOSED, message, { doc: this.doc });
  }
}
