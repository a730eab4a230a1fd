import type {
  ErrorMessage,
  JoinedMessage,
  JsonObject,
  OpMessage,
  PresenceMessage,
  PresenceUpdateMessage,
  SavedMessage,
  ServerMessage,
} from '../protocol/messages';
import { Backoff } from './backoff';
import { DocumentHandle } from './document-handle';
import type { DocumentEvents, DocumentLink, JoinOptions, SubmitResult } from './document-types';
import { ClientErrorCodes, FlowError } from './errors';
import { TypedEmitter } from './events';
import { joinRequest } from './join-request';
import { OthersPresence } from './others-presence';
import { PendingSubmits } from './pending-submits';
import { DocumentReplica } from './replica';
import { LateAnswers } from './late-answers';
import { SavedMark } from './saved-mark';
import { SequencedMessages, type Sequenced } from './sequenced-messages';
import { StallWatch } from './stall-watch';

type Phase = 'joining' | 'live' | 'rejoining' | 'left';

/** Codes after which the same join can succeed later. */
const TRANSIENT = new Set<string>(['UNAVAILABLE', 'RATE_LIMITED']);

/**
 * The SDK's side of one joined document: its replica, the join and re-join
 * handshakes, the promises of its submits, and the presence of the other
 * clients. `FlowClient` drives it; users see it through `DocumentHandle`.
 * Its acks and events reach the replica through `SequencedMessages`, which
 * holds them back until a `joined` has fixed the position (`phase` live).
 */
export class DocumentSession extends TypedEmitter<DocumentEvents> {
  readonly replica = new DocumentReplica();
  readonly others = new OthersPresence();
  readonly saved = new SavedMark();
  readonly handle: DocumentHandle;
  /** Settles with the first `joined`: what `FlowClient.join` returns. */
  readonly ready: Promise<DocumentHandle>;
  private phase: Phase = 'joining';
  private readonly submits: PendingSubmits;
  private readonly sequenced: SequencedMessages;
  private ownPresence: JsonObject | null;
  private readonly retry: Backoff;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private settleJoin!: { resolve(handle: DocumentHandle): void; reject(error: FlowError): void };
  readonly stall: StallWatch;

  constructor(
    readonly doc: string,
    readonly link: DocumentLink,
    options: JoinOptions = {},
  ) {
    super();
    this.ownPresence = options.presence ?? null;
    this.retry = new Backoff(link.retry);
    this.stall = new StallWatch(doc, link.stallAfterMs, (stall) => this.emit('stalled', stall));
    this.submits = new PendingSubmits(
      doc,
      this.replica,
      {
        changed: () => this.emit('change', { cause: 'local', seq: this.replica.seq }),
        acked: (ack) => this.emit('ack', ack),
        unexplained: (error) => this.emit('error', error),
        // Not live: the re-join's `joined` sends every unsent message anyway.
        resend: () => {
          if (this.phase === 'live') this.submits.send(this.link);
        },
        freshCseq: () => this.link.nextCseq(this.doc),
      },
      link.retry,
    );
    this.sequenced = new SequencedMessages(doc, this.replica, this.submits, link, {
      live: () => this.phase === 'live',
      changed: () => this.emit('change', { cause: 'remote', seq: this.replica.seq }),
      event: (event) => this.emit('event', event),
      gap: () => {
        this.phase = 'rejoining';
        this.stall.lost();
        this.sendJoin();
      },
    });
    this.handle = new DocumentHandle(this);
    this.ready = new Promise((resolve, reject) => {
      this.settleJoin = { resolve, reject };
    });
    // The caller of join() handles this promise; a session whose join nobody
    // awaits any more (the client closed first) must not raise an unhandled rejection.
    this.ready.catch(() => undefined);
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
    const result = this.submits.add(message);
    if (this.phase === 'live') this.submits.send(this.link);
    return result;
  }

  /** Keeps this client's presence for re-joins; sends it when joined. */
  setPresence(message: PresenceMessage): void {
    this.ownPresence = message.state;
    if (this.phase === 'live') this.link.send(message);
  }

  /**
   * Ops sent on the open connection are answered on it even after the leave:
   * their submits wait for those answers (and their changes stay visible).
   * Ops not sent yet never reached the server and are refused here.
   */
  leave(): Promise<void> {
    if (this.phase === 'left') return Promise.resolve();
    const generation = this.link.generation();
    const sent = this.submits.owed(generation);
    const answers = new LateAnswers(this.doc, this.submits.take(sent), (cseq) => {
      if (this.replica.removePending(cseq))
        this.emit('change', { cause: 'local', seq: this.replica.seq });
    });
    this.link.awaitAnswers(answers);
    const reason = `${this.doc} was left before this was sent; nothing was applied`;
    this.finish(new FlowError(ClientErrorCodes.CLIENT_CLOSED, reason, { doc: this.doc }), sent);
    const left = new Promise<void>((resolve) => {
      // Any answer, an error or a lost connection too, means we are not joined.
      const requested = this.link.request(
        { type: 'leave', doc: this.doc },
        { reply: () => resolve(), fail: () => resolve() },
      );
      if (!requested) resolve();
    });
    return Promise.all([left, answers.done]).then(() => undefined);
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
    if (this.phase === 'live') {
      this.phase = 'rejoining';
      this.stall.lost();
    }
  }

  /** The client closed, or the server ended the connection for good. */
  destroy(error: FlowError): void {
    if (this.phase === 'left') return;
    this.finish(new FlowError(error.code, error.message, { doc: this.doc }));
  }

  /** A message about this document that answers no request; false for an error no submit explains. */
  receive(message: Sequenced | PresenceUpdateMessage | SavedMessage | ErrorMessage): boolean {
    if (this.phase === 'left') return message.type !== 'error';
    switch (message.type) {
      case 'ack':
      case 'event':
        this.sequenced.receive(message);
        return true;
      case 'presence':
        if (this.others.update(message, this.link.clientId())) this.emit('presence', this.others);
        return true;
      case 'saved':
        if (this.saved.saved(message.seq)) this.emit('saved', { seq: message.seq });
        return true;
      case 'error':
        return this.submits.refused(message);
    }
  }

  // ---- join ------------------------------------------------------------------

  /** A `joined` the server sent on its own; handled like the answer to a re-join. */
  resync(reply: JoinedMessage): void {
    if (this.phase === 'live') this.joined(reply, this.link.generation());
  }

  /** Without an open connection this does nothing: the next welcome joins. */
  private sendJoin(): void {
    const message = joinRequest(this.doc, this.replica, this.ownPresence);
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
        this.sequenced.forget();
        for (const pending of this.replica.pendingMessages) pending.sentOn = 0;
      }
    } else if (epochChanged || !this.sequenced.applyJoined(reply.seq, reply.events)) {
      // Events that do not continue our history: start over from a snapshot.
      this.replica.forgetHistory();
      this.sendJoin();
      return;
    }
    this.phase = 'live';
    this.retry.reset();
    this.stall.reset();
    const savedMoved = this.saved.joined(reply.savedSeq, epochChanged);
    this.others.replace(reply.presence, this.link.clientId());
    this.emit('change', { cause: snapshot ? 'snapshot' : 'remote', seq: this.replica.seq });
    this.emit('presence', this.others);
    if (savedMoved) this.emit('saved', { seq: this.saved.seq as number });
    if (first) this.settleJoin.resolve(this.handle);
    else this.emit('resync', { snapshot, epochChanged, epoch: reply.epoch, seq: this.replica.seq });
    // A listener may have left the document.
    if (this.phase !== 'live') return;
    this.sequenced.replay();
    // A replayed message may have found another gap and started another re-join.
    if (this.phase === 'live') this.submits.send(this.link, generation);
  }

  private joinFailed(error: FlowError): void {
    // A lost connection is no answer: the next welcome joins again.
    if (this.phase === 'left' || error.code === ClientErrorCodes.DISCONNECTED) return;
    if (this.phase === 'rejoining' && TRANSIENT.has(error.code)) {
      this.stall.refused(error);
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

  // ---- end -------------------------------------------------------------------

  /** Ends the session; the pending messages in `keep` stay visible (their answers are owed). */
  private finish(error: FlowError, keep: readonly number[] = []): void {
    this.phase = 'left';
    clearTimeout(this.retryTimer);
    this.stall.reset();
    this.sequenced.forget();
    let hadPending = false;
    for (const { cseq } of [...this.replica.pendingMessages]) {
      if (!keep.includes(cseq) && this.replica.removePending(cseq)) hadPending = true;
    }
    this.link.detach(this.doc, this);
    this.settleJoin.reject(error);
    this.submits.rejectAll(error);
    if (hadPending) this.emit('change', { cause: 'local', seq: this.replica.seq });
  }
}
