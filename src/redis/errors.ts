import { UnavailableError } from '../protocol/errors';

/**
 * Why Redis could not take a command. Every kind here means "nothing was
 * applied, retry later": the callers answer UNAVAILABLE, never INTERNAL.
 */
export type RedisFailureKind =
  | 'unreachable'
  | 'closed'
  | 'timeout'
  | 'cluster-down'
  | 'try-again'
  | 'loading'
  | 'failover'
  | 'busy'
  | 'out-of-memory'
  | 'no-replicas'
  | 'auth';

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/** The commands queued while no cluster node answered, failed after that many reconnection attempts. */
export class ClusterUnreachableError extends Error {
  constructor(attempts: number) {
    super(`no Redis Cluster node is reachable after ${attempts} reconnection attempts`);
    this.name = 'ClusterUnreachableError';
  }
}

/** Server error replies that say "not now", by their leading word. */
const REPLY_PREFIXES: ReadonlyArray<[string, RedisFailureKind]> = [
  ['CLUSTERDOWN', 'cluster-down'],
  ['TRYAGAIN', 'try-again'],
  ['LOADING', 'loading'],
  ['MASTERDOWN', 'failover'],
  ['READONLY', 'failover'],
  ['BUSY', 'busy'],
  ['OOM', 'out-of-memory'],
  // min-replicas-to-write: too few replicas in sync (a promoted master has none yet).
  ['NOREPLICAS', 'no-replicas'],
  ['NOAUTH', 'auth'],
  ['WRONGPASS', 'auth'],
];

const MESSAGES: Record<RedisFailureKind, string> = {
  unreachable: 'Redis is not reachable; nothing was applied, retry later',
  closed: 'the connection to Redis is closed; nothing was applied, retry later',
  timeout: 'Redis did not answer in time; retry later',
  'cluster-down': 'the Redis Cluster is down (CLUSTERDOWN); nothing was applied, retry later',
  'try-again':
    'the Redis Cluster is moving this document (TRYAGAIN); nothing was applied, retry later',
  loading: 'Redis is loading its data after a restart; nothing was applied, retry later',
  failover: 'Redis is failing over to a new master; nothing was applied, retry later',
  busy: 'Redis is busy running a script; nothing was applied, retry later',
  'out-of-memory':
    "Redis is out of memory (used memory > 'maxmemory') and refuses writes; nothing was applied. " +
    'Operators: raise maxmemory and keep maxmemory-policy noeviction',
  'no-replicas':
    'Redis refuses writes while too few replicas are in sync (min-replicas-to-write); nothing was applied, retry later',
  auth: 'Redis refused the credentials (check REDIS_PASSWORD); nothing was applied',
};

function textOf(err: unknown): { name: string; message: string; code: string } {
  if (typeof err !== 'object' || err === null) return { name: '', message: String(err), code: '' };
  const e = err as { name?: unknown; message?: unknown; code?: unknown };
  return {
    name: typeof e.name === 'string' ? e.name : '',
    message: typeof e.message === 'string' ? e.message : '',
    code: typeof e.code === 'string' ? e.code : '',
  };
}

/** Classifies an ioredis error; undefined for errors that are not a backend outage (bugs). */
export function redisFailureKind(err: unknown): RedisFailureKind | undefined {
  const { name, message, code } = textOf(err);
  if (
    NETWORK_CODES.has(code) ||
    /\b(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND)\b/.test(message)
  ) {
    return 'unreachable';
  }
  // ioredis gave up after maxRetriesPerRequest reconnection attempts: the command was never sent.
  if (name === 'MaxRetriesPerRequestError') return 'unreachable';
  if (
    name === 'ClusterAllFailedError' ||
    name === 'ClusterUnreachableError' ||
    /Failed to refresh slots cache|None of startup nodes/.test(message)
  ) {
    return 'unreachable';
  }
  if (/Connection is closed|Stream isn't writeable|Too many Cluster redirections/.test(message))
    return 'closed';
  if (/Command timed out/.test(message)) return 'timeout';
  for (const [prefix, kind] of REPLY_PREFIXES) {
    if (message.startsWith(prefix)) return kind;
  }
  // Errors raised inside a script carry the reply of the failing call after a prefix.
  if (/\bOOM command not allowed\b/.test(message)) return 'out-of-memory';
  return undefined;
}

/** An UnavailableError for a Redis outage, or undefined when `err` is something else. */
export function unavailableFrom(err: unknown): UnavailableError | undefined {
  const kind = redisFailureKind(err);
  return kind === undefined ? undefined : new UnavailableError(MESSAGES[kind]);
}

/** Maps a Redis outage to UnavailableError and passes every other error through unchanged. */
export function asServiceError(err: unknown): unknown {
  return unavailableFrom(err) ?? err;
}
