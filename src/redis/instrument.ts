import type { Cluster, Command, Redis } from 'ioredis';
import type { Logger } from '../observability/logger';

export const SLOW_COMMAND_MESSAGE = 'Redis operation took longer than expected';
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

export interface InstrumentOptions {
  /** Commands slower than this (ms) are logged as slow; 0 turns the check off. */
  slowCommandMs: number;
  /** Trace every command (name and first key, never values) at debug level: `DEBUG=redis:*`. */
  trace: boolean;
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
  if (options.slowCommandMs <= 0 && !options.trace) return;
  const target = client as unknown as { sendCommand: SendCommand; status: string };
  const send = target.sendCommand.bind(client) as SendCommand;
  // A cluster re-sends a command on MOVED/ASK through the same method; time it once.
  const seen = new WeakSet<Command>();
  target.sendCommand = (command: Command, ...rest: unknown[]) => {
    if (!seen.has(command)) {
      seen.add(command);
      const name = command.name.toLowerCase();
      if (options.trace)
        log.debug({ command: name, key: firstKey(command) }, TRACE_COMMAND_MESSAGE);
      if (options.slowCommandMs > 0 && target.status === 'ready' && !BLOCKING.has(name)) {
        const started = performance.now();
        const done = () => {
          const ms = Math.round(performance.now() - started);
          if (ms > options.slowCommandMs) {
            log.warn(
              { command: name, ms, thresholdMs: options.slowCommandMs },
              SLOW_COMMAND_MESSAGE,
            );
          }
        };
        command.promise.then(done, done);
      }
    }
    return send(command, ...rest);
  };
}
