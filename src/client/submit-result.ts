/** What a submit resolves with once the server placed the op message. */
export interface SubmitResult {
  /** The event the op message became; null for a resend the server no longer remembers. */
  seq: number | null;
  /** The server had applied it before: a resend after a reconnect. */
  dup: boolean;
}
