/**
 * The open-loop schedule: how many messages are due `t` seconds after the
 * start, the rate rising linearly from 0 to `rate` over `rampUpS` seconds and
 * staying there. Messages are sent when they are due whatever the server
 * does; a server that falls behind shows as latency and in-flight messages,
 * never as a lower offered rate.
 */

/** Messages due by `t` seconds (not rounded). */
export function dueBy(rate: number, rampUpS: number, t: number): number {
  if (t <= 0 || rate <= 0) return 0;
  if (t < rampUpS) return (rate * t * t) / (2 * rampUpS);
  return (rate * rampUpS) / 2 + rate * (t - rampUpS);
}

/** When message number `n` (1-based) is due, in seconds after the start: the inverse of dueBy. */
export function dueAt(rate: number, rampUpS: number, n: number): number {
  if (rate <= 0) return Infinity;
  const rampMessages = (rate * rampUpS) / 2;
  if (n < rampMessages) return Math.sqrt((2 * n * rampUpS) / rate);
  return rampUpS + (n - rampMessages) / rate;
}
