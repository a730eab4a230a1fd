/**
 * Reads a JWT's `exp` (seconds since the epoch) without verifying anything:
 * the SDK only uses it to avoid connecting with a token the server would
 * refuse as expired. Undefined when the token is not a JWT or has no `exp`.
 */
export function tokenExpiry(token: string): number | undefined {
  const payload = token.split('.')[1];
  if (payload === undefined) return undefined;
  try {
    const base64 = payload.replace(/-/g, '+').replace(/_/g, '/');
    const claims = JSON.parse(atob(base64)) as { exp?: unknown };
    return typeof claims.exp === 'number' ? claims.exp : undefined;
  } catch {
    return undefined;
  }
}

/** True when the token carries an `exp` that has passed at `nowMs`. */
export function isExpired(token: string, nowMs: number): boolean {
  const exp = tokenExpiry(token);
  return exp !== undefined && exp * 1000 <= nowMs;
}

/** The token is expired, and asking the source again would not help: connecting would be refused. */
export class ExpiredTokenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ExpiredTokenError';
  }
}

/**
 * The token for the next connection attempt. A source that hands out an
 * expired token is asked once more (it may have cached the old one); a
 * second expired token, or an expired fixed string, ends the connection
 * instead of one refused reconnect after another.
 */
export async function nextToken(
  source: string | (() => string | Promise<string>) | undefined,
  now: () => number,
): Promise<string | undefined> {
  if (typeof source !== 'function') {
    if (source !== undefined && isExpired(source, now()))
      throw new ExpiredTokenError('the token has expired; create the client with a fresh one');
    return source;
  }
  const first = await source();
  if (!isExpired(first, now())) return first;
  const second = await source();
  if (isExpired(second, now()))
    throw new ExpiredTokenError(
      'the token source returned an expired token twice in a row; not reconnecting (fix the token source)',
    );
  return second;
}
