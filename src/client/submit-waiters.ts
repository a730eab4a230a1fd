import type { SubmitResult } from './submit-result';
import type { FlowError } from './errors';

interface Waiter {
  resolve(result: SubmitResult): void;
  reject(error: FlowError): void;
}

/** The promises of submits, by cseq, until their op message is placed or refused. */
export class SubmitWaiters {
  private readonly waiters = new Map<number, Waiter>();

  add(cseq: number): Promise<SubmitResult> {
    const result = new Promise<SubmitResult>((resolve, reject) => {
      this.waiters.set(cseq, { resolve, reject });
    });
    // Fire-and-forget submits are normal with optimistic updates, and a
    // rejection also shows as a rollback `change`: an unawaited one must not
    // crash Node as an unhandled rejection. Awaiting callers still see it.
    result.catch(() => {});
    return result;
  }

  has(cseq: number): boolean {
    return this.waiters.has(cseq);
  }

  /** False when no submit waits for this cseq (settled already). */
  resolve(cseq: number, result: SubmitResult): boolean {
    const waiter = this.waiters.get(cseq);
    if (!waiter) return false;
    this.waiters.delete(cseq);
    waiter.resolve(result);
    return true;
  }

  reject(cseq: number, error: FlowError): boolean {
    const waiter = this.waiters.get(cseq);
    if (!waiter) return false;
    this.waiters.delete(cseq);
    waiter.reject(error);
    return true;
  }

  /** The op message of `from` is sent again as `to`: its submit waits for that answer instead. */
  move(from: number, to: number): void {
    const waiter = this.waiters.get(from);
    if (!waiter) return;
    this.waiters.delete(from);
    this.waiters.set(to, waiter);
  }

  /** Moves the waiters of `cseqs` into a new set. */
  take(cseqs: Iterable<number>): SubmitWaiters {
    const taken = new SubmitWaiters();
    for (const cseq of cseqs) {
      const waiter = this.waiters.get(cseq);
      if (!waiter) continue;
      this.waiters.delete(cseq);
      taken.waiters.set(cseq, waiter);
    }
    return taken;
  }

  cseqs(): number[] {
    return [...this.waiters.keys()];
  }

  get size(): number {
    return this.waiters.size;
  }

  rejectAll(error: FlowError): void {
    const waiters = [...this.waiters.values()];
    this.waiters.clear();
    for (const waiter of waiters) waiter.reject(error);
  }
}
