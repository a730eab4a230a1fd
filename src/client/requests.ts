import type { ServerMessage } from '../protocol/messages';
import { FlowError } from './errors';

/** What to do with the reply to one request; called synchronously, in message order. */
export interface ReplyHandler {
  /** Any reply but an `error`. */
  reply(message: ServerMessage): void;
  fail(error: FlowError): void;
}

/**
 * Requests awaiting a reply, matched by `ref`. Replies are handed over
 * synchronously rather than through promises: `ws` may emit several frames in
 * one tick, and a `joined` must be handled before the `event` behind it.
 */
export class PendingRequests {
  private readonly handlers = new Map<string, ReplyHandler>();
  private counter = 0;

  /** Registers a handler; returns the `ref` to send with the request. */
  add(handler: ReplyHandler): string {
    const ref = `r${++this.counter}`;
    this.handlers.set(ref, handler);
    return ref;
  }

  /** Hands a reply to its handler, an `error` as a FlowError; false when no request waits for it. */
  settle(ref: string, message: ServerMessage): boolean {
    const handler = this.handlers.get(ref);
    if (!handler) return false;
    this.handlers.delete(ref);
    if (message.type !== 'error') {
      handler.reply(message);
      return true;
    }
    const details: { doc?: string; cseq?: number } = {};
    if (message.doc !== undefined) details.doc = message.doc;
    if (message.cseq !== undefined) details.cseq = message.cseq;
    handler.fail(new FlowError(message.code, message.message, details));
    return true;
  }

  /** Fails one request, e.g. on a timeout. */
  fail(ref: string, error: FlowError): void {
    const handler = this.handlers.get(ref);
    if (!handler) return;
    this.handlers.delete(ref);
    handler.fail(error);
  }

  /** Fails every request: replies can no longer arrive on a lost connection. */
  failAll(error: FlowError): void {
    const handlers = [...this.handlers.values()];
    this.handlers.clear();
    for (const handler of handlers) handler.fail(error);
  }
}
