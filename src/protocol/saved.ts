/**
 * The durable-storage mark of the server messages `saved` and `joined`
 * (`seq`, `savedSeq`): the SDK takes it from the wire through this check, so
 * that a malformed value reads as "no store" instead of a wrong promise.
 */
export function savedSeqOf(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : undefined;
}
