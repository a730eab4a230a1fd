/** setTimeout fires at once for delays above this (2^31 - 1 ms, about 24.8 days). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** The reason of the close, as PROTOCOL.md section 7 words it. */
export const TOKEN_EXPIRED_REASON = 'token expired';

/**
 * Calls `expire` when the clock reaches `expiresAt` (ms since the epoch): a
 * token stops at its `exp` on an open connection too. Returns the cancel.
 */
export function atExpiry(expiresAt: number, expire: () => void): () => void {
  let timer: NodeJS.Timeout;
  const arm = () => {
    const left = expiresAt - Date.now();
    if (left <= 0) {
      expire();
      return;
    }
    timer = setTimeout(arm, Math.min(left, MAX_TIMER_MS));
    timer.unref();
  };
  arm();
  return () => clearTimeout(timer);
}
