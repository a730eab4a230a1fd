import type { ClientMessage } from '../protocol/messages';
import { parseClientMessage, utf8Length } from '../protocol/validate';
import { FlowError } from './errors';

/**
 * Checks a message with the server's own validator before it is sent or
 * applied optimistically: a bad op fails at once with the server's wording,
 * and a reserved name never reaches the local state (where `__proto__` would
 * reach Object.prototype). Returns the parsed copy, which the caller can no
 * longer change.
 */
export function checkOutgoing<T extends ClientMessage>(message: T, maxFrameBytes: number): T {
  const text = JSON.stringify(message);
  const parsed = parseClientMessage(text);
  const details = { doc: 'doc' in message ? message.doc : undefined, cseq: cseqOf(message) };
  if (!parsed.ok) throw new FlowError(parsed.error.code, parsed.error.message, details);
  const bytes = utf8Length(text);
  if (bytes > maxFrameBytes) {
    const reason = `the ${message.type} message is ${bytes} bytes; the frame limit is ${maxFrameBytes}`;
    throw new FlowError('TOO_LARGE', reason, details);
  }
  // parseClientMessage keeps the type of what it was given.
  return parsed.message as T;
}

function cseqOf(message: ClientMessage): number | undefined {
  return message.type === 'op' ? message.cseq : undefined;
}
