import type { AckMessage, ErrorMessage } from '../protocol/messages';
import { ClientErrorCodes, FlowError } from './errors';
import type { SubmitWaiters } from './submit-waiters';

/**
 * The answers still owed for op messages sent before `leave()`. The server
 * answers every op it accepted on the connection that sent it, even after a
 * leave (PROTOCOL.md section 5), so the submits wait for those answers
 * rather than guess: an op may well have been applied.
 */
export class LateAnswers {
  readonly done: Promise<void>;
  private finish!: () => void;

  constructor(
    readonly doc: string,
    private readonly waiters: SubmitWaiters,
    /** An op that was refused (or cannot be confirmed): drop its optimistic change. */
    private readonly refused: (cseq: number) => void,
  ) {
    this.done = new Promise((resolve) => (this.finish = resolve));
    this.check();
  }

  /** True when the message answered one of these ops. */
  receive(message: AckMessage | ErrorMessage): boolean {
    const { cseq } = message;
    if (message.doc !== this.doc || cseq === undefined || !this.waiters.has(cseq)) return false;
    if (message.type === 'error') {
      this.waiters.reject(
        cseq,
        new FlowError(message.code, message.message, { doc: this.doc, cseq }),
      );
      this.refused(cseq);
    } else if (message.seq === null) {
      this.unconfirmed(cseq, 'the server no longer knows whether this op was applied');
    } else {
      this.waiters.resolve(cseq, { seq: message.seq, dup: message.dup === true });
    }
    this.check();
    return true;
  }

  /** The connection is gone, and with it the answers. */
  lost(): void {
    for (const cseq of this.waiters.cseqs()) {
      this.unconfirmed(
        cseq,
        'the connection was lost after the leave, before the server answered this op',
      );
    }
    this.check();
  }

  private unconfirmed(cseq: number, reason: string): void {
    const message = `${reason}; join the document again to see whether it was applied`;
    this.waiters.reject(
      cseq,
      new FlowError(ClientErrorCodes.UNCONFIRMED, message, { doc: this.doc, cseq }),
    );
    this.refused(cseq);
  }

  private check(): void {
    if (this.waiters.size === 0) this.finish();
  }
}
