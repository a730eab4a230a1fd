/**
 * How much of a document's dedupe record is kept, in both backends.
 *
 * A resent op message (a retried batch, a reconnecting client) is answered
 * `duplicate` with its real seq when it is among its client's last
 * DEDUPE_WINDOW applied messages; an older one with a null seq. Redis keeps
 * at most DEDUPE_CLIENTS_MAX clients per document: past that, the clients
 * whose last applied op is the oldest are forgotten (down to three quarters
 * of the bound), so a busy document's record stays bounded however many
 * clients come and go.
 */
export const DEDUPE_WINDOW = 32;
export const DEDUPE_CLIENTS_MAX = 1000;

/** One client's applied op messages as the dedupe record keeps them, oldest first. */
export type DedupePairs = Array<{ cseq: number; seq: number }>;

/**
 * Reads a Redis dedupe record, `cseq seq cseq seq ...` (older data holds one
 * pair), into its pairs; unreadable pairs are skipped.
 */
export function parseDedupeRecord(record: string): DedupePairs {
  const words = record.split(' ').map(Number);
  const pairs: DedupePairs = [];
  for (let i = 0; i + 1 < words.length; i += 2) {
    const cseq = words[i] as number;
    const seq = words[i + 1] as number;
    if (Number.isSafeInteger(cseq) && Number.isSafeInteger(seq)) pairs.push({ cseq, seq });
  }
  return pairs;
}
