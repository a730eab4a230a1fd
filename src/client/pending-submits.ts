import type { ErrorMessage, OpMessage } from '../protocol/messages';
import type { DocumentLink, SubmitResult } from './document-types';
import { Backoff, type BackoffOptions } from './backoff';
import { FlowError } from './errors';
import type { DocumentReplica } from './replica';
import { SubmitWaiters } from './submit-waiters';

/** What PendingSubmits reports to the session, which turns each into a document event. */
export interface PendingEvents {
  /** The optimistic layer changed (an op message added, dropped or rolled back). */
  changed(): void;
  /** A submit settled: its op message is in the document at `seq`. */
  acked(ack: { cseq: number } & SubmitResult): void;
  /** A server error that names no op message this client waits for. */
  unexplained(error: FlowError): void;
  /** The messages marked unsent should go again now, if the document is still joined. */
  resend(): void;
  /** A cseq above every one this client used for the document. */
  freshCseq(): number;
}

/**
 * This client's op messages of one document that the server has not answered
 * yet: their optimistic layer in the replica, and the promises their submits
 * returned. A message leaves when its ack or event arrives, or when the
 * server refuses it (then nothing of it was applied, so it is rolled back),
 * except UNAVAILABLE: that refusal is for now, so the message stays and goes
 * again, with the same cseq, after a backoff.
 */
export class PendingSubmits {
  private readonly waiters = new SubmitWaiters();
  private readonly resendBackoff: Backoff;
  private resendTimer: ReturnType<typeof setTimeout> | undefined;
  /** Messages marked to go again: cseq -> the connection generation they were sent on. */
  private readonly marked = new Map<number, number>();
  /** Marked messages the server answered (UNAVAILABLE): no other answer is owed for them. */
  private readonly answered = new Set<number>();
  /** The highest cseq of this client the server placed in the document. */
  private highestPlaced = 0;

  constructor(
    private readonly doc: string,
    private readonly replica: DocumentReplica,
    private readonly events: PendingEvents,
    backoff?: BackoffOptions,
  ) {
    this.resendBackoff = new Backoff(backoff);
  }

  /** Adds a checked op message to the optimistic layer; settles when the server answers. */
  add(message: OpMessage): Promise<SubmitResult> {
    this.replica.addPending(message.cseq, message.ops);
    const result = this.waiters.add(message.cseq);
    this.events.changed();
    return result;
  }

  /** The message is in the confirmed state already: drop it from the layer and settle. */
  drop(cseq: number, result: SubmitResult): void {
    if (this.replica.removePending(cseq)) this.events.changed();
    this.settle(cseq, result);
  }

  settle(cseq: number, result: SubmitResult): void {
    this.resendBackoff.reset();
    this.highestPlaced = Math.max(this.highestPlaced, cseq);
    this.marked.delete(cseq);
    this.answered.delete(cseq);
    if (this.waiters.resolve(cseq, result)) this.events.acked({ cseq, ...result });
  }

  /** A server error for this document; false when it explains no waiting submit. */
  refused(message: ErrorMessage): boolean {
    const { cseq } = message;
    const error = new FlowError(message.code, message.message, { doc: this.doc, cseq });
    if (cseq === undefined || !this.waiters.has(cseq)) {
      this.events.unexplained(error);
      return false;
    }
    if (message.code === 'UNAVAILABLE' && this.replica.findPending(cseq)) {
      if (cseq < this.highestPlaced) {
        // A later op of ours was placed: the server takes this cseq for a
        // duplicate now, so it can only go again under a fresh one.
        this.renumber(cseq, this.events.freshCseq());
        this.scheduleResend();
      } else this.resendFrom(cseq);
      return true;
    }
    // Nothing of a refused op message was applied: roll the optimistic change back.
    this.reject(cseq, error);
    return true;
  }

  /**
   * Not queued, for now: the same cseq goes again after a pause, and so do
   * the later ones, in order (the server refused them too, or answers their
   * resend as a duplicate with its seq). A new cseq instead would let a later
   * op overtake it, and rolling it back would lose an edit the user made.
   * Once a later op was placed anyway, the server answers UNAVAILABLE ("not
   * applied and will not be") to this cseq: then it goes under a fresh one.
   */
  private resendFrom(cseq: number): void {
    for (const pending of this.replica.pendingMessages) {
      if (pending.cseq < cseq || pending.sentOn === 0) continue;
      this.marked.set(pending.cseq, pending.sentOn);
      pending.sentOn = 0;
    }
    this.answered.add(cseq);
    this.scheduleResend();
  }

  private scheduleResend(): void {
    clearTimeout(this.resendTimer);
    this.resendTimer = setTimeout(() => this.events.resend(), this.resendBackoff.next());
  }

  /** The submit fails with `error`; its change leaves the optimistic layer. */
  reject(cseq: number, error: FlowError): void {
    if (this.replica.removePending(cseq)) this.events.changed();
    this.waiters.reject(cseq, error);
  }

  /** Sends a pending op message again under a fresh cseq, on top of the others. */
  renumber(cseq: number, fresh: number): void {
    const pending = this.replica.removePending(cseq);
    if (!pending) return;
    this.marked.delete(cseq);
    this.answered.delete(cseq);
    this.replica.addPending(fresh, pending.ops);
    this.waiters.move(cseq, fresh);
    this.events.changed();
  }

  /**
   * The pending messages whose answer the server owes on connection
   * `generation`: sent on it, or marked to go again but not answered yet.
   */
  owed(generation: number): number[] {
    if (generation === 0) return [];
    return this.replica.pendingMessages
      .filter(
        (p) =>
          p.sentOn === generation ||
          (this.marked.get(p.cseq) === generation && !this.answered.has(p.cseq)),
      )
      .map((p) => p.cseq);
  }

  /** Hands the waiting submits of `cseqs` over (their answers come after a leave). */
  take(cseqs: Iterable<number>): SubmitWaiters {
    return this.waiters.take(cseqs);
  }

  /** Sends, in cseq order, every pending message not yet sent on this connection. */
  send(link: Pick<DocumentLink, 'generation' | 'send'>, generation = link.generation()): void {
    if (generation === 0 || generation !== link.generation()) return;
    for (const pending of this.replica.pendingMessages) {
      if (pending.sentOn === generation) continue;
      const { cseq, ops } = pending;
      if (!link.send({ type: 'op', doc: this.doc, cseq, ops: [...ops] })) return;
      pending.sentOn = generation;
      this.marked.delete(cseq);
      this.answered.delete(cseq);
    }
  }

  rejectAll(error: FlowError): void {
    clearTimeout(this.resendTimer);
    this.waiters.rejectAll(error);
  }
}
