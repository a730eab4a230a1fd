import type { Cluster, Command, Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Metrics } from '../observability/metrics';
import { redisFailureKind, type RedisFailureKind } from './errors';
import { SlowCommandLog } from './slow-command-log';

export { SLOW_COMMAND_MESSAGE } from './slow-command-log';
export const TRACE_COMMAND_MESSAGE = 'Redis command';

/** Commands that wait by design; their time says nothing about Redis health. */
const BLOCKING = new Set([
  'blpop',
  'brpop',
  'brpoplpush',
  'blmove',
  'blmpop',
  'bzpopmin',
  'bzpopmax',
  'bzmpop',
  'xread',
  'xreadgroup',
  'wait',
  'waitaof',
  'subscribe',
  'psubscribe',
  'ssubscribe',
  'monitor',
]);

/**
 * Why a command or a connection failed, as counted in metrics: an outage
 * kind (see errors.ts), `reply` for any other error reply of Redis (a script
 * refusing a stale fence, a wrong type), `other` for anything else.
 */
export type RedisErrorKind = RedisFailureKind | 'reply' | 'other';

/** Classifies an error for metrics; never throws. */
export function redisErrorKind(err: unknown): RedisErrorKind {
  const kind = redisFailureKind(err);
  if (kind !== undefined) return kind;
  return err instanceof Error && err.name === 'ReplyError' ? 'reply' : 'other';
}

/** The metrics a process counts about its Redis connections. */
export type RedisMetrics = Pick<Metrics, 'redisErrors' | 'redisSlowCommands'>;

/**
 * What ioredis sends by itself while a connection is set up. Their failures
 * are either harmless by design (CLIENT SETINFO on Redis before 7.2) or a
 * connection error reported as such (a refused HELLO or AUTH).
 */
const HANDSHAKE = new Set(['hello', 'auth', 'client', 'select', 'readonly']);

export interface InstrumentOptions {
  /** Commands slower than this (ms) are logged as slow; 0 turns the check off. */
  slowCommandMs: number;
  /** Trace every command (name and first key, never values) at debug level: `DEBUG=redis:*`. */
  trace: boolean;
  /** Counts failed and slow commands. */
  metrics?: RedisMetrics;
}

type SendCommand = (command: Command, ...rest: unknown[]) => unknown;

function firstKey(command: Command): string | undefined {
  try {
    const key = command.getKeys()[0];
    return key === undefined ? undefined : String(key);
  } catch {
    return undefined;
  }
}

/**
 * Wraps the client's `sendCommand`, the one path every command (and every
 * pipelined command) of ioredis takes. Only commands sent while the client is
 * ready are timed, so a command parked in the offline queue during an outage
 * is not reported as slow (the outage is reported by the connection log).
 */
export function instrumentCommands(
  client: Redis | Cluster,
  log: Logger,
  options: InstrumentOptions,
): void {
  const { metrics } = options;
  const countErrors = metrics !== undefined;
  if (options.slowCommandMs <= 0 && !options.trace && !countErrors) return;
  // `DEBUG=redis:*` alone turns tracing on: the trace lines are logged at
  // debug level even when LOG_LEVEL is info (but not when it is silent).
  const tracer =
    options.trace && log.level !== 'silent' && !log.isLevelEnabled('debug')
      ? log.child({}, { level: 'debug' })
      : log;
  const target = client as unknown as { sendCommand: SendCommand; status: string };
  const send = target.sendCommand.bind(client) as SendCommand;
  // A cluster re-sends a command on MOVED/ASK through the same method; time it once.
  const seen = new WeakSet<Command>();
  const slowLog = new SlowCommandLog(log, options.slowCommandMs);
  target.sendCommand = (command: Command, ...rest: unknown[]) => {
    if (!seen.has(command)) {
      seen.add(command);
      const name = command.name.toLowerCase();
      if (options.trace)
        tracer.debug({ command: name, key: firstKey(command) }, TRACE_COMMAND_MESSAGE);
      const timed = options.slowCommandMs > 0 && target.status === 'ready' && !BLOCKING.has(name);
      const started = performance.now();
      const done = () => {
        if (!timed) return;
        const ms = Math.round(performance.now() - started);
        if (ms > options.slowCommandMs) {
          slowLog.note(name, ms);
          metrics?.redisSlowCommands.inc({ command: name });
        }
      };
      const counted = countErrors && !(target.status === 'connect' && HANDSHAKE.has(name));
      const failed = (err: unknown) => {
        done();
        if (counted) metrics?.redisErrors.inc({ source: 'command', kind: redisErrorKind(err) });
      };
      if (timed || counted) command.promise.then(done, failed);
    }
    return send(command, ...rest);
  };
}
