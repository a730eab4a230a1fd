import type { Cluster, Redis } from 'ioredis';
import type { Logger } from 'pino';

/** The operations guide's Docker command (section 1), quoted in the "not reachable" line. */
export const DOCKER_START_COMMAND =
  'docker run -d --name redis-flow -p 6379:6379 -v redis-data:/data redis:7-alpine redis-server --appendonly yes';

/**
 * Operator-facing lines of the connection lifecycle. Each is logged object
 * first with a constant message; the same problem is logged once until it
 * changes or the connection recovers, not on every retry.
 */
export const ConnectionMessages = {
  connected: '✅ Redis connected successfully',
  restored: 'Redis connection restored',
  unreachable:
    'Redis is not reachable: start it with `redis-server`, or `npm run cluster:up` for the local cluster, ' +
    `or \`${DOCKER_START_COMMAND}\``,
  passwordNotNeeded:
    'REDIS_PASSWORD is set but Redis has no password: remove REDIS_PASSWORD or set requirepass',
  passwordRequired: 'Redis requires a password: set REDIS_PASSWORD',
  passwordWrong: 'Redis rejected the password: REDIS_PASSWORD (or REDIS_USERNAME) is wrong',
  clusterDown:
    'The Redis Cluster is down (CLUSTERDOWN): a master without a reachable replica; check the cluster nodes',
  outOfMemory:
    "Redis is out of memory (used memory > 'maxmemory') and refuses writes: raise maxmemory; keep maxmemory-policy noeviction",
  otherError: 'Redis connection error',
  gaveUp: 'Redis connection ended; no more reconnection attempts',
} as const;

type Problem = Exclude<keyof typeof ConnectionMessages, 'connected' | 'restored' | 'gaveUp'>;

function problemOf(err: unknown): Problem {
  const e = (err ?? {}) as { message?: unknown; code?: unknown; lastNodeError?: unknown };
  const message = typeof e.message === 'string' ? e.message : String(err);
  const code = typeof e.code === 'string' ? e.code : '';
  if (/without any password configured|no password is set/.test(message))
    return 'passwordNotNeeded';
  if (/^NOAUTH|Authentication required/.test(message)) return 'passwordRequired';
  if (/^WRONGPASS|invalid password|invalid username-password/.test(message)) return 'passwordWrong';
  if (message.startsWith('CLUSTERDOWN')) return 'clusterDown';
  if (/\bOOM command not allowed\b/.test(message)) return 'outOfMemory';
  if (
    code === 'ECONNREFUSED' ||
    /ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ETIMEDOUT|EAI_AGAIN/.test(message)
  ) {
    return 'unreachable';
  }
  // A cluster reports "Failed to refresh slots cache" and keeps the cause aside.
  if (e.lastNodeError !== undefined && e.lastNodeError !== null) {
    const cause = problemOf(e.lastNodeError);
    if (cause !== 'otherError') return cause;
  }
  if (/Failed to refresh slots cache|None of startup nodes/.test(message)) return 'unreachable';
  return 'otherError';
}

/**
 * The operator line for a connection error (the one the log shows), with the
 * error's own text; for /health, which would otherwise only see a timeout.
 */
export function connectionProblemText(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  const problem = problemOf(err);
  return problem === 'otherError' ? text : `${ConnectionMessages[problem]} (${text})`;
}

export interface ConnectionLogOptions {
  /** `host:port`, or `cluster host:port,...`; never contains the password. */
  where: string;
  purpose: string;
  password: string;
  username: string;
}

/**
 * Attaches the lifecycle listeners. Also answers an `error` listener for
 * ioredis, which would otherwise print unhandled errors to stderr.
 */
export function logConnectionLifecycle(
  client: Redis | Cluster,
  log: Logger,
  options: ConnectionLogOptions,
): void {
  const context = { redis: options.where, purpose: options.purpose };
  let everReady = false;
  let problem: Problem | undefined;
  let warnedPassword = false;
  const errorText = (err: unknown): string => {
    if (!(err instanceof Error)) return String(err);
    // A cluster reports "Failed to refresh slots cache." and keeps the cause aside.
    const cause = (err as { lastNodeError?: unknown }).lastNodeError;
    return cause instanceof Error ? `${err.message} (${cause.message})` : err.message;
  };

  const report = (next: Problem, err: unknown, node?: string) => {
    if (problem === next) return;
    // ioredis follows every failed reconnection with "Connection is closed.":
    // it names no new problem, and alternating with the real one it would undo
    // the dedupe (about 200 line pairs per connection in a 5 s cluster failover).
    if (
      problem !== undefined &&
      next === 'otherError' &&
      /Connection is closed/.test(errorText(err))
    )
      return;
    problem = next;
    log.error(
      { ...context, ...(node ? { node } : {}), error: errorText(err) },
      ConnectionMessages[next],
    );
  };
  const warnPasswordNotNeeded = (err: unknown) => {
    if (warnedPassword) return;
    warnedPassword = true;
    log.warn({ ...context, error: errorText(err) }, ConnectionMessages.passwordNotNeeded);
  };

  client.on('error', (err: unknown) => {
    const next = problemOf(err);
    if (next === 'passwordNotNeeded') warnPasswordNotNeeded(err);
    else report(next, err);
  });
  // A cluster names the node and the socket error here, before its own summary error.
  client.on('node error', (err: unknown, node: unknown) => {
    const next = problemOf(err);
    if (next === 'passwordNotNeeded') warnPasswordNotNeeded(err);
    else report(next, err, typeof node === 'string' ? node : undefined);
  });
  client.on('end', () => {
    if (problem !== undefined) log.error(context, ConnectionMessages.gaveUp);
  });
  client.on('ready', () => {
    if (!everReady) log.info(context, ConnectionMessages.connected);
    else if (problem !== undefined) log.info(context, ConnectionMessages.restored);
    everReady = true;
    problem = undefined;
    // ioredis authenticates with `HELLO 3 AUTH default <password>`, which a Redis
    // without a password accepts silently. Ask with plain AUTH, whose refusal
    // names the mismatch, so that operators learn that one side is misconfigured.
    if (options.password !== '' && options.username === '') {
      client.call('AUTH', options.password).catch((err: unknown) => {
        if (problemOf(err) === 'passwordNotNeeded') warnPasswordNotNeeded(err);
      });
    }
  });
}
