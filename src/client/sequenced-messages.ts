import type { AckMessage, EventMessage, EventRecord } from '../protocol/messages';
import type { DocumentLink } from './document-types';
import { ClientErrorCodes, FlowError } from './errors';
import type { PendingSubmits } from './pending-submits';
import type { DocumentReplica } from './replica';

/** The two messages that carry a seq of the document. */
export type Sequenced = AckMessage | EventMessage;

/** What SequencedMessages asks of its document session. */
export interface SequencedEvents {
  /** Whether a `joined` has fixed the position on the current connection. */
  live(): boolean;
  /** Events were placed in the confirmed state. */
  changed(): void;
  /** Another client's event was placed. */
  event(event: EventRecord): void;
  /** Events are missing: join again to get them (the message waits in the buffer). */
  gap(): void;
}

/**
 * How the acks and events of one document reach its replica, apart from the
 * join handshake that decides when they may. Acks and events arrive in seq
 * order on one connection. Until a `joined` has fixed the position on the
 * current connection (not live), both are buffered in arrival order and
 * replayed behind it; the replay drops what the `joined` already covered.
 */
export class SequencedMessages {
  private buffer: Sequenced[] = [];

  constructor(
    private readonly doc: string,
    private readonly replica: DocumentReplica,
    private readonly submits: PendingSubmits,
    private readonly link: DocumentLink,
    private readonly events: SequencedEvents,
  ) {}

  /** What was buffered means nothing any more (a new epoch, the end). */
  forget(): void {
    this.buffer = [];
  }

  /** Places what arrived before the `joined`, in arrival order. */
  replay(): void {
    const buffered = this.buffer;
    this.buffer = [];
    for (const message of buffered) this.receive(message);
  }

  receive(message: Sequenced): void {
    if (!this.events.live()) {
      this.buffer.push(message);
      return;
    }
    const { seq, cseq } = message;
    if (seq === null) {
      // Only an ack has no seq: a resend the server no longer remembers. That
      // is no proof it was ever applied; if it was, it is old enough to be in
      // the state we joined with, so dropping the pending layer shows the truth.
      const reason =
        'the server no longer knows whether this op was applied; the document state shows whether it was';
      this.submits.reject(
        cseq,
        new FlowError(ClientErrorCodes.UNCONFIRMED, reason, { doc: this.doc, cseq }),
      );
      return;
    }
    const dup = message.type === 'ack' && message.dup === true;
    const position = this.replica.position(seq);
    if (position === 'duplicate') {
      // An event we have, or an own message already in the confirmed state.
      if (message.type === 'ack') this.submits.drop(cseq, { seq, dup });
      return;
    }
    const ops = message.type === 'ack' ? this.replica.findPending(cseq)?.ops : message.ops;
    if (position === 'gap' || !ops) {
      // Events are missing (or an ack names ops we do not hold): ask for them.
      this.buffer.push(message);
      this.events.gap();
      return;
    }
    if (message.type === 'event') {
      this.applyNext(message);
      this.events.changed();
      return;
    }
    // Every event before this seq has arrived: the server sends in seq order.
    if (this.replica.confirm(seq, ops, cseq)) this.events.changed();
    this.submits.settle(cseq, { seq, dup });
  }

  /** Applies the events of a `joined`; false when they do not continue the replica. */
  applyJoined(seq: number, events: readonly EventRecord[]): boolean {
    for (const event of events) {
      const position = this.replica.position(event.seq);
      if (position === 'duplicate') continue;
      if (position === 'gap') return false;
      this.applyNext(event);
    }
    return this.replica.seq === seq;
  }

  /** Places the event at seq + 1, another client's or our own. */
  private applyNext(event: EventRecord): void {
    const { seq, client, cseq, ops } = event;
    const pending = client === this.link.clientId() ? this.replica.findPending(cseq) : undefined;
    if (client !== this.link.clientId() || (pending && !sameOps(pending.ops, ops))) {
      this.replica.confirm(seq, ops);
      this.events.event({ seq, client, cseq, ops });
      // Another connection with our client id (a duplicated browser tab) took
      // this cseq first: ours was not applied and never will be under it.
      if (pending) this.submits.renumber(cseq, this.link.nextCseq(this.doc));
      return;
    }
    // Our own op message, seen in a `joined` events list: placed here,
    // whatever became of its ack.
    this.link.observeCseq(this.doc, cseq);
    this.replica.confirm(seq, ops, cseq);
    this.submits.settle(cseq, { seq, dup: false });
  }
}

function sameOps(a: readonly unknown[], b: readonly unknown[]): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
