export interface BackoffOptions {
  /**
   * Base delay: the first retry waits up to this long.
   * @default 500
   */
  minDelayMs: number;
  /**
   * Ceiling of the delay, however many attempts failed.
   * @default 30000
   */
  maxDelayMs: number;
}

export const DEFAULT_BACKOFF: Readonly<BackoffOptions> = Object.freeze({
  minDelayMs: 500,
  maxDelayMs: 30_000,
});

/**
 * Exponential backoff with full jitter: attempt n waits a uniform random time
 * in [0, min(max, min * 2^n)]. The jitter spreads the reconnects of every
 * client of a gateway that shut down (close 1001), so they do not arrive at
 * the other gateways in one wave.
 */
export class Backoff {
  private attempt = 0;

  constructor(
    private readonly options: BackoffOptions = DEFAULT_BACKOFF,
    private readonly random: () => number = Math.random,
  ) {
    if (!(options.minDelayMs >= 0) || !(options.maxDelayMs >= options.minDelayMs)) {
      throw new RangeError('backoff needs 0 <= minDelayMs <= maxDelayMs');
    }
  }

  /** The delay before the next attempt, in milliseconds; counts the attempt. */
  next(): number {
    // Cap the exponent: 2^attempt overflows to Infinity long after maxDelayMs is reached.
    const ceiling = Math.min(
      this.options.maxDelayMs,
      this.options.minDelayMs * 2 ** Math.min(this.attempt, 32),
    );
    this.attempt++;
    return Math.floor(this.random() * ceiling);
  }

  /** After a success: the next failure starts from the base delay again. */
  reset(): void {
    this.attempt = 0;
  }

  get attempts(): number {
    return this.attempt;
  }
}
