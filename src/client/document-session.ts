import type {
  AckMessage,
  ErrorMessage,
  EventMessage,
  EventRecord,
  JoinMessage,
  JoinedMessage,
  JsonObject,
  OpMessage,
  PresenceEntry,
  PresenceMessage,
  PresenceUpdateMessage,
  ServerMessage,
} from '../protocol/messages';
import { Backoff } from './backoff';
import { DocumentHandle } from './document-handle';
import type { DocumentEvents, DocumentLink, JoinOptions, SubmitResult } from './document-types';
import { ClientErrorCodes, FlowError } from './errors';
import { TypedEmitter } from './events';
import { DocumentReplica } from './replica';
import { SubmitWaiters } from './submit-waiters';

type Phase = 'joining' | 'live' | 'rejoining' | 'left';
type Sequenced = AckMessage | EventMessage;

/** Codes after which the same join can succeed later. */
const TRANSIENT = new Set<string>(['UNAVAILABLE', 'RATE_LIMITED']);

/**
 * The SDK's side of one joined document: its replica, the join and re-join
 * handshakes, the promises of its submits, and the presence of the other
 * clients. `FlowClient` drives it; users see it through `DocumentHandle`.
 *
 * Acks and events arrive in seq order on one connection. Until a `joined`
 * has fixed the position on the current connection (`phase` not live), both
 * are buffered in arrival order and replayed behind it; the replay drops what
 * the `joined` already covered.
 */
export class DocumentSession extends TypedEmitter<DocumentEvents> {
  readonly replica = new DocumentReplica();
  readonly others = new Map<string, PresenceEntry>();
  readonly handle: DocumentHandle;
  /** Settles with the first `joined`: what `FlowClient.join` returns. */
  readonly ready: Promise<DocumentHandle>;
  private phase: Phase = 'joining';
  private buffer: Sequenced[] = [];
  private readonly submits = new SubmitWaiters();
  private ownPresence: JsonObject | null;
  private readonly retry: Backoff;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly resendBackoff: Backoff;
  private resendTimer: ReturnType<typeof setTimeout> | undefined;
  private settleJoin!: { resolve(handle: DocumentHandle): void; reject(error: FlowError): void };

  constructor(
    readonly doc: string,
    readonly link: DocumentLink,
    options: JoinOptions = {},
  ) {
    super();
    this.ownPresence = options.presence ?? null;
    this.retry = new Backoff(link.retry);
    this.resendBackoff = new Backoff(link.retry);
    this.handle = new DocumentHandle(this);
    this.ready = new Promise((resolve, reject) => {
      this.settleJoin = { resolve, reject };
    });
  }

  get live(): boolean {
    return this.phase === 'live';
  }

  get left(): boolean {
    return this.phase === 'left';
  }

  // ---- driven by DocumentHandle ----------------------------------------------

  /** Adds a checked op message to the pending layer; sends it when joined. */
  submit(message: OpMessage): Promise<SubmitResult> {
    this.replica.addPending(message.cseq, message.ops);
    const result = this.submits.add(message.cseq);
    this.emit('change', { cause: 'local', seq: this.replica.seq });
    if (this.phase === 'live') this.sendPending();
    return result;
  }

  /** Keeps this client's presence for re-joins; sends it when joined. */
  setPresence(message: PresenceMessage): void {
    this.ownPresence = message.state;
    if (this.phase === 'live') this.link.send(message);
  }

  leave(): Promise<void> {
    if (this.phase === 'left') return Promise.resolve();
    const reason = `${this.doc} was left before the server answered`;
    this.finish(new FlowError(ClientErrorCodes.CLIENT_CLOSED, reason, { doc: this.doc }));
    return new Promise<void>((resolve) => {
      // Any answer, an error or a lost connection too, means we are not joined.
      const sent = this.link.request(
        { type: 'leave', doc: this.doc },
        { reply: () => resolve(), fail: () => resolve() },
      );
      if (!sent) resolve();
    });
  }

  // ---- driven by FlowClient --------------------------------------------------

  /** A connection was welcomed: (re-)join on it. */
  connected(): void {
    if (this.phase === 'left') return;
    clearTimeout(this.retryTimer);
    this.sendJoin();
  }

  /** The connection is gone; the requests made on it were failed already. */
  disconnected(): void {
    clearTimeout(this.retryTimer);
    if (this.phase === 'live') this.phase = 'rejoining';
  }

  /** The client closed, or the server ended the connection for good. */
  destroy(error: FlowError): void {
    if (this.phase === 'left') return;
    this.finish(new FlowError(error.code, error.message, { doc: this.doc }));
  }

  /** A message about this document that answers no request; false for an error no submit explains. */
  receive(message: Sequenced | PresenceUpdateMessage | ErrorMessage): boolean {
    if (this.phase === 'left') return message.type !== 'error';
    switch (message.type) {
      case 'ack':
      case 'event':
        this.sequenced(message);
        return true;
      case 'presence':
        this.presenceUpdate(message);
        return true;
      case 'error':
        return this.opError(message);
    }
  }

  // ---- join ------------------------------------------------------------------

  /** A `joined` the server sent on its own; handled like the answer to a re-join. */
  resync(reply: JoinedMessage): void {
    if (this.phase === 'live') this.joined(reply, this.link.generation());
  }

  /** Without an open connection this does nothing: the next welcome joins. */
  private sendJoin(): void {
    const message: JoinMessage = { type: 'join', doc: this.doc };
    if (this.replica.known) {
      message.since = this.replica.seq;
      message.epoch = this.replica.epoch;
    }
    if (this.ownPresence) message.presence = this.ownPresence;
    const generation = this.link.generation();
    this.link.request(message, {
      reply: (reply) => this.joined(reply, generation),
      fail: (error) => this.joinFailed(error),
    });
  }

  private joined(reply: ServerMessage, generation: number): void {
    if (this.phase === 'left') return;
    if (reply.type !== 'joined' || reply.doc !== this.doc) {
      const message = `join answered with ${reply.type}`;
      this.joinFailed(new FlowError('INTERNAL', message, { doc: this.doc }));
      return;
    }
    const first = this.phase === 'joining';
    const snapshot = 'state' in reply;
    const epochChanged = this.replica.epoch !== undefined && this.replica.epoch !== reply.epoch;
    if (snapshot) {
      this.replica.reset(reply.epoch, reply.seq, reply.state);
      if (epochChanged) {
        // That history is gone: what was buffered from it means nothing, and
        // every pending message must be applied again in the new epoch.
        this.buffer = [];
        for (const pending of this.replica.pendingMessages) pending.sentOn = 0;
      }
    } else if (epochChanged || !this.applyJoinedEvents(reply.seq, reply.events)) {
      // Events that do not continue our history: start over from a snapshot.
      this.replica.forgetHistory();
      this.sendJoin();
      return;
    }
    this.phase = 'live';
    this.retry.reset();
    this.others.clear();
    for (const entry of reply.presence) {
      if (entry.client !== this.link.clientId()) this.others.set(entry.client, entry);
    }
    this.emit('change', { cause: snapshot ? 'snapshot' : 'remote', seq: this.replica.seq });
    this.emit('presence', this.others);
    if (first) this.settleJoin.resolve(this.handle);
    else this.emit('resync', { snapshot, epochChanged, epoch: reply.epoch, seq: this.replica.seq });
    // A listener may have left the document.
    if (this.phase !== 'live') return;
    const buffered = this.buffer;
    this.buffer = [];
    for (const message of buffered) this.sequenced(message);
    // A replayed message may have found another gap and started another re-join.
    if (this.phase === 'live') this.sendPending(generation);
  }

  /** Applies the events of a `joined`; false when they do not continue the replica. */
  private applyJoinedEvents(seq: number, events: readonly EventRecord[]): boolean {
    for (const event of events) {
      const position = this.replica.position(event.seq);
      if (position === 'duplicate') continue;
      if (position === 'gap') return false;
      this.applyNext(event);
    }
    return this.replica.seq === seq;
  }

  private joinFailed(error: FlowError): void {
    // A lost connection is no answer: the next welcome joins again.
    if (this.phase === 'left' || error.code === ClientErrorCodes.DISCONNECTED) return;
    if (this.phase === 'rejoining' && TRANSIENT.has(error.code)) {
      clearTimeout(this.retryTimer);
      this.retryTimer = setTimeout(() => {
        if (this.phase === 'rejoining') this.sendJoin();
      }, this.retry.next());
      return;
    }
    // The first join reports through its promise; a refused re-join only here.
    if (this.phase !== 'joining') this.emit('error', error);
    this.finish(error);
  }

  // ---- sequenced messages ----------------------------------------------------

  private sequenced(message: Sequenced): void {
    if (this.phase !== 'live') {
      this.buffer.push(message);
      return;
    }
    const { seq, cseq } = message;
    if (seq === null) {
      // Only an ack has no seq: a resend the server no longer remembers. The
      // state we joined with already has it.
      this.dropPending(cseq, { seq: null, dup: true });
      return;
    }
    const dup = message.type === 'ack' && message.dup === true;
    const position = this.replica.position(seq);
    if (position === 'duplicate') {
      // An event we have, or an own message already in the confirmed state.
      if (message.type === 'ack') this.dropPending(cseq, { seq, dup });
      return;
    }
    const ops = message.type === 'ack' ? this.replica.findPending(cseq)?.ops : message.ops;
    if (position === 'gap' || !ops) {
      // Events are missing (or an ack names ops we do not hold): ask for them.
      this.buffer.push(message);
      this.phase = 'rejoining';
      this.sendJoin();
      return;
    }
    if (message.type === 'event') {
      this.applyNext(message);
      this.emit('change', { cause: 'remote', seq: this.replica.seq });
      return;
    }
    // Every event before this seq has arrived: the server sends in seq order.
    if (this.replica.confirm(seq, ops, cseq)) {
      this.emit('change', { cause: 'remote', seq: this.replica.seq });
    }
    this.settle(cseq, { seq, dup });
  }

  /** Places the event at seq + 1, another client's or our own. */
  private applyNext(event: EventRecord): void {
    const { seq, client, cseq, ops } = event;
    if (client !== this.link.clientId()) {
      this.replica.confirm(seq, ops);
      this.emit('event', { seq, client, cseq, ops });
      return;
    }
    // Our own op message, seen in a `joined` events list: placed here,
    // whatever became of its ack.
    this.link.observeCseq(this.doc, cseq);
    this.replica.confirm(seq, ops, cseq);
    this.settle(cseq, { seq, dup: false });
  }

  private dropPending(cseq: number, result: SubmitResult): void {
    if (this.replica.removePending(cseq)) {
      this.emit('change', { cause: 'local', seq: this.replica.seq });
    }
    this.settle(cseq, result);
  }

  private settle(cseq: number, result: SubmitResult): void {
    this.resendBackoff.reset();
    if (this.submits.resolve(cseq, result)) this.emit('ack', { cseq, ...result });
  }

  /** Sends, in cseq order, every pending message not yet sent on this connection. */
  private sendPending(generation = this.link.generation()): void {
    if (generation === 0 || generation !== this.link.generation()) return;
    for (const pending of this.replica.pendingMessages) {
      if (pending.sentOn === generation) continue;
      const { cseq, ops } = pending;
      if (!this.link.send({ type: 'op', doc: this.doc, cseq, ops: [...ops] })) return;
      pending.sentOn = generation;
    }
  }

  // ---- errors and presence ---------------------------------------------------

  private opError(message: ErrorMessage): boolean {
    const { cseq } = message;
    const error = new FlowError(message.code, message.message, { doc: this.doc, cseq });
    if (cseq === undefined || !this.submits.has(cseq)) {
      this.emit('error', error);
      return false;
    }
    if (message.code === 'UNAVAILABLE' && this.replica.findPending(cseq)) {
      // Not queued, for now: the same cseq goes again after a pause, and so
      // do the later ones, in order (the server refused them too, or answers
      // their resend as a duplicate with its seq).
      for (const pending of this.replica.pendingMessages)
        if (pending.cseq >= cseq) pending.sentOn = 0;
      clearTimeout(this.resendTimer);
      this.resendTimer = setTimeout(() => {
        if (this.phase === 'live') this.sendPending();
      }, this.resendBackoff.next());
      return true;
    }
    // Nothing of a refused op message was applied: roll the optimistic change back.
    if (this.replica.removePending(cseq)) {
      this.emit('change', { cause: 'local', seq: this.replica.seq });
    }
    this.submits.reject(cseq, error);
    return true;
  }

  private presenceUpdate(message: PresenceUpdateMessage): void {
    const { client, user, state } = message;
    if (client === this.link.clientId()) return;
    if (state === null) this.others.delete(client);
    else this.others.set(client, { client, user, state });
    this.emit('presence', this.others);
  }

  // ---- end -------------------------------------------------------------------

  private finish(error: FlowError): void {
    this.phase = 'left';
    clearTimeout(this.retryTimer);
    clearTimeout(this.resendTimer);
    this.buffer = [];
    const hadPending = this.replica.clearPending().length > 0;
    this.link.detach(this.doc, this);
    this.settleJoin.reject(error);
    this.submits.rejectAll(error);
    if (hadPending) this.emit('change', { cause: 'local', seq: this.replica.seq });
  }
}
