import type { Logger } from 'pino';
import { FencedError } from '../../document/fence';
import { ConnectionMessages } from '../../redis/connection-log';
import { redisFailureKind, unavailableFrom, type RedisFailureKind } from '../../redis/errors';

/** How often the failure of one kind is logged at most. */
const FAILURE_LOG_INTERVAL_MS = 10_000;

/**
 * What a failed Redis step of the collaboration service answers: an outage
 * becomes UnavailableError, a stale fence FencedError, anything else (a bug)
 * stays as it is. Apart from the service because every step shares it, and
 * its log is throttled per kind: an outage fails every request at once, and
 * one line per kind and interval says as much as thousands.
 */
export class RedisFailures {
  private last: { kind: RedisFailureKind; at: number } | undefined;

  constructor(
    private readonly log: Logger,
    private readonly now: () => number,
  ) {}

  /** Runs one Redis operation; outages become UnavailableError, a stale fence FencedError. */
  async call<T>(operation: string, doc: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (err) {
      throw this.failure(err, operation, doc);
    }
  }

  /** The error to answer for `err`, logged (at most once per interval and kind). */
  failure(err: unknown, operation: string, doc: string | undefined): unknown {
    if (err instanceof Error && err.message.startsWith('FENCED')) {
      this.log.warn(
        { operation, doc, error: err.message },
        'apply refused: the processing claim is stale',
      );
      return new FencedError(doc ?? '');
    }
    const unavailable = unavailableFrom(err);
    if (!unavailable) return err;
    const kind = redisFailureKind(err) ?? 'unreachable';
    const now = this.now();
    const last = this.last;
    if (!last || last.kind !== kind || now - last.at >= FAILURE_LOG_INTERVAL_MS) {
      this.last = { kind, at: now };
      const detail = {
        operation,
        doc,
        failure: kind,
        error: err instanceof Error ? err.message : String(err),
      };
      if (kind === 'out-of-memory') this.log.error(detail, ConnectionMessages.outOfMemory);
      else this.log.warn(detail, 'Redis cannot take the request; answering UNAVAILABLE');
    }
    return unavailable;
  }
}
