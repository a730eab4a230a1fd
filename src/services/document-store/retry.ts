/** How failed attempts are spaced: exponential growth, capped, with jitter. */
export interface BackoffPolicy {
  /** Milliseconds before the first retry (before jitter). */
  initialMs: number;
  /** Largest delay, in milliseconds. */
  maxMs: number;
}

/**
 * Delay before retry number `attempt` (1 for the first retry): "equal
 * jitter", half fixed and half random, so that many processes or documents
 * failing together do not retry in lock step, yet none retries at once.
 */
export function backoffDelay(
  policy: BackoffPolicy,
  attempt: number,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(policy.maxMs, policy.initialMs * 2 ** Math.max(0, attempt - 1));
  return ceiling / 2 + random() * (ceiling / 2);
}

export const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, ms));
