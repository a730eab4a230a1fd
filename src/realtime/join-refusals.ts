import type { Rejection } from '../protocol';

/**
 * The answer to a join of a document whose snapshot is larger than the
 * gateway can send in one frame (a document made before DOC_MAX_BYTES
 * applied, or with a higher one): said in words, never a silent close.
 */
export function tooLargeToJoin(
  doc: string,
  bytes: number,
  limit: number,
  ref: string | undefined,
): Rejection {
  return {
    code: 'TOO_LARGE',
    message: `document "${doc}" is ${bytes} bytes to send, more than this gateway sends in one message (${limit}); it cannot be joined: ask the operators to shrink it (or to raise WS_MAX_BACKPRESSURE_BYTES)`,
    doc,
    ref,
  };
}

/** The size of a `joined` frame and the limit, when the frame is over it; undefined otherwise. */
export function oversizedJoin(
  text: string,
  limit: number | undefined,
): { bytes: number; limit: number } | undefined {
  // A UTF-8 byte is at most 3 per UTF-16 unit: most texts need no count.
  if (limit === undefined || text.length * 3 <= limit) return undefined;
  const bytes = Buffer.byteLength(text);
  return bytes > limit ? { bytes, limit } : undefined;
}
