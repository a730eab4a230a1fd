import { applyOps } from '../document/apply-ops';
import type {
  AckMessage,
  DocState,
  EventMessage,
  JoinMessage,
  JoinedMessage,
  Op,
  PresenceMessage,
} from '../protocol';
import { HistoryRecorder, type ClientDocHistory } from './history';
import { nowUs, opMessage, presenceMessage, sendTimeOf } from './ops';
import { stateDigest } from './state-digest';
import type { ThreadMetrics } from './thread-metrics';
import { Counter } from './thread-protocol';

/** An op message created by the schedule and not answered yet. */
interface PendingOp {
  cseq: number;
  ops: Op[];
  text: string;
  /** Intended send time, µs on the nowUs() clock: latency is measured from it. */
  intendedUs: number;
  sent: boolean;
  /** Sent more than once (after a reconnect or re-join). */
  resent: boolean;
}

/** What a membership needs from its connection. */
export interface MembershipLink {
  readonly clientId: string;
  readonly clientIndex: number;
  readonly opSize: number;
  readonly metrics: ThreadMetrics;
  /** Writes one text frame; false when the connection is not open. */
  send(text: string): boolean;
}

type Phase = 'idle' | 'joining' | 'live';

/** The `ref` of every join, so that an error answering a join can be told apart. */
export const JOIN_REF = 'join';
const JOIN_RETRY_MS = 250;

/**
 * One client's side of one document: its replica (state at seq, built from
 * the joined snapshot or catch-up and the events and acks that follow), its
 * unanswered op messages, and the history the checker reads.
 *
 * Ops created while not joined wait in `pending` (open loop: the schedule
 * does not slow down, the latency grows). After every join the pending ones
 * are sent again with their cseq, in cseq order: the server answers a
 * duplicate ack for what it applied already.
 */
export class Membership {
  readonly recorder: HistoryRecorder;
  private phase: Phase = 'idle';
  private epoch: string | undefined;
  private seq = 0;
  /** Whether `state` is the server's state at `seq` of `epoch` (a join can then ask `since`). */
  private known = false;
  private state: DocState = {};
  private nextCseq = 1;
  private readonly pending = new Map<number, PendingOp>();
  /** Acks and events that arrived during a re-join; replayed behind the `joined`. */
  private buffer: Array<{ message: AckMessage | EventMessage; recorded: boolean }> = [];
  private joinSince: number | null = null;
  private everJoined = false;
  private presenceCount = 0;
  private retryTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly doc: string,
    private readonly link: MembershipLink,
  ) {
    this.recorder = new HistoryRecorder(link.clientId, doc);
  }

  get live(): boolean {
    return this.phase === 'live';
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  get currentSeq(): number {
    return this.seq;
  }

  /** Sends a join, with `since` and `epoch` when the replica can be continued. */
  join(): void {
    this.phase = 'joining';
    clearTimeout(this.retryTimer);
    const message: JoinMessage = { type: 'join', doc: this.doc, ref: JOIN_REF };
    if (this.known && this.epoch !== undefined) {
      message.since = this.seq;
      message.epoch = this.epoch;
    }
    this.joinSince = message.since ?? null;
    this.link.send(JSON.stringify(message));
  }

  /** The server refused the join (UNAVAILABLE while Redis recovers, say): try again shortly. */
  onJoinRefused(): void {
    if (this.phase !== 'joining') return;
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(
      () => {
        if (this.phase === 'joining') this.join();
      },
      JOIN_RETRY_MS * (1 + Math.random()),
    );
  }

  disconnected(): void {
    clearTimeout(this.retryTimer);
    if (this.phase === 'idle') return;
    this.phase = 'idle';
    this.buffer = [];
    this.recorder.disconnected();
  }

  onJoined(message: JoinedMessage): void {
    if (this.phase !== 'joining') return;
    if ('state' in message) {
      this.recorder.joinedSnapshot(message.epoch, message.seq, this.joinSince);
      this.state = message.state;
      this.seq = message.seq;
      this.epoch = message.epoch;
      this.known = true;
    } else {
      this.recorder.joinedEvents(message.epoch, message.seq, this.joinSince ?? 0);
      const continues = message.epoch === this.epoch;
      for (const event of message.events) {
        this.recorder.catchUp(event.seq, event.client, event.cseq);
        if (event.client === this.link.clientId) this.answer(event.cseq, false);
        if (continues && event.seq === this.seq + 1) {
          applyOps(this.state, event.ops);
          this.seq = event.seq;
        }
      }
      if (!continues || this.seq !== message.seq) {
        // The events do not continue this replica: start over from a snapshot.
        this.known = false;
        this.join();
        return;
      }
    }
    if (!this.everJoined) {
      this.everJoined = true;
      this.link.metrics.add(Counter.joined);
    }
    this.phase = 'live';
    const buffered = this.buffer;
    this.buffer = [];
    for (const { message: m, recorded } of buffered) {
      // What the joined covered already: an own op among it stays pending and
      // is answered by the duplicate ack of its resend.
      if (m.seq !== null && m.seq <= this.seq && !(m.type === 'ack' && m.dup)) continue;
      this.onSequenced(m, recorded);
      if (this.phase !== 'live') return;
    }
    const now = nowUs();
    for (const p of this.pending.values()) {
      if (!this.link.send(p.text)) break;
      this.link.metrics.sent(p.intendedUs, now, p.sent);
      if (p.sent) p.resent = true;
      p.sent = true;
    }
  }

  /** An ack or an event; `recorded` when the history has it already (replayed after a gap). */
  onSequenced(message: AckMessage | EventMessage, recorded = false): void {
    if (this.phase !== 'live') {
      if (this.phase === 'joining') this.buffer.push({ message, recorded });
      return;
    }
    if (message.type === 'ack' && (message.dup || message.seq === null)) {
      this.link.metrics.add(Counter.dupAcks);
      const p = this.pending.get(message.cseq);
      if (p && !p.resent) this.link.metrics.add(Counter.dupAcksUnprompted);
      this.recorder.dupAck(message.seq, message.cseq);
      this.answer(message.cseq, true);
      return;
    }
    const seq = message.seq as number;
    if (!recorded) {
      if (message.type === 'ack') this.recorder.ack(seq, message.cseq);
      else this.recorder.event(seq, message.client, message.cseq);
    }
    if (seq > this.seq + 1) {
      // A gap: the checker has seen it; catch up to keep the replica exact.
      this.join();
      this.buffer.push({ message, recorded: true });
      return;
    }
    const now = nowUs();
    let ops: Op[] | undefined;
    if (message.type === 'ack') {
      ops = this.pending.get(message.cseq)?.ops;
      this.answer(message.cseq, true, now);
    } else {
      ops = message.ops;
      this.link.metrics.delivered(sendTimeOf(message.ops), now);
    }
    if (seq <= this.seq) return; // a duplicate: the checker reports it
    if (!ops) {
      // An ack of an op no longer pending: its ops are unknown here, so the
      // replica can only be rebuilt from a snapshot.
      this.known = false;
      this.join();
      return;
    }
    applyOps(this.state, ops);
    this.seq = seq;
  }

  onError(cseq: number, code: string): void {
    if (!this.pending.has(cseq)) return;
    this.recorder.refusedOp(cseq, code);
    this.answer(cseq, false);
  }

  /** Creates the next op message, intended to be sent at `intendedUs`; sends it when joined. */
  createOp(intendedUs: number): void {
    const cseq = this.nextCseq++;
    const message = opMessage(this.doc, this.link.clientIndex, cseq, intendedUs, this.link.opSize);
    const p: PendingOp = {
      cseq,
      ops: message.ops,
      text: JSON.stringify(message),
      intendedUs,
      sent: false,
      resent: false,
    };
    this.pending.set(cseq, p);
    this.recorder.created(cseq);
    this.link.metrics.created(intendedUs);
    if (this.phase === 'live' && this.link.send(p.text)) {
      p.sent = true;
      this.link.metrics.sent(intendedUs, nowUs(), false, true);
    }
  }

  sendPresence(): boolean {
    if (this.phase !== 'live') return false;
    const message: PresenceMessage = presenceMessage(this.doc, nowUs(), this.presenceCount++);
    return this.link.send(JSON.stringify(message));
  }

  toHistory(): ClientDocHistory {
    this.recorder.finish(
      this.known
        ? { epoch: this.epoch ?? null, seq: this.seq, digest: stateDigest(this.state) }
        : null,
    );
    return this.recorder.toHistory();
  }

  /** The first answer of an op message ends its wait; later ones change nothing. */
  private answer(cseq: number, acked: boolean, now = nowUs()): void {
    const p = this.pending.get(cseq);
    if (!p) return;
    this.pending.delete(cseq);
    this.link.metrics.answered();
    if (acked) this.link.metrics.acked(p.intendedUs, now);
  }
}
