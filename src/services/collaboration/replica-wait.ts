import type { Logger } from 'pino';
import type { RedisClient } from '../../redis/connection';
import { ReplicaCount } from '../../redis/replica-count';

/** How long `auto` keeps waiting for a listed replica before it answers anyway. */
const AUTO_WAIT_LIMIT_MS = 30_000;

/** Runs one Redis step of the service, turning outages into UnavailableError. */
type Call = <T>(operation: string, doc: string, run: () => Promise<T>) => Promise<T>;

export interface ReplicaWaitOptions {
  redis: RedisClient;
  log: Logger;
  /** REDIS_WAIT_REPLICAS. */
  setting: number | 'auto';
  /** REDIS_WAIT_TIMEOUT_MS: one WAIT. */
  timeoutMs: number;
  call: Call;
  now: () => number;
}

/**
 * Holds an apply's outcomes until the document's master has replicated it
 * (Redis WAIT on the connection of that master: a pipeline with a key of the
 * document reaches that very connection). If the master dies meanwhile the
 * apply is reported UNAVAILABLE (the resend is safe: the apply dedupes).
 *
 * A number waits for that many replicas, one WAIT of `timeoutMs`, then
 * answers anyway with a warning. `auto` waits for one replica while the
 * master lists one: a replica that lags (the case where a failover would lose
 * the change) is waited for WAIT after WAIT, up to 30 s; a replica whose
 * link the master dropped is no longer waited for; a master without replicas
 * is never waited for (ReplicaCount).
 */
export class ReplicaWait {
  private readonly replicaCount: ReplicaCount;

  constructor(private readonly options: ReplicaWaitOptions) {
    this.replicaCount = new ReplicaCount(options.redis, options.now);
  }

  async confirm(doc: string, sessionKey: string): Promise<void> {
    const { setting, timeoutMs, call, now } = this.options;
    if (setting !== 'auto') {
      if (setting > 0) await this.waitOnce(doc, sessionKey, setting, true);
      return;
    }
    const started = now();
    for (;;) {
      const listed = await call('waitReplicas', doc, () => this.replicaCount.of(sessionKey));
      if (listed === 0) return;
      const last = now() - started + timeoutMs >= AUTO_WAIT_LIMIT_MS;
      if ((await this.waitOnce(doc, sessionKey, 1, last)) >= 1 || last) return;
    }
  }

  private async waitOnce(doc: string, sessionKey: string, wanted: number, warn: boolean) {
    const { redis, timeoutMs, call, log } = this.options;
    const replicas = await call('waitReplicas', doc, async () => {
      const results = await redis.pipeline().exists(sessionKey).wait(wanted, timeoutMs).exec();
      const [error, count] = results?.[1] ?? [new Error('no reply to WAIT'), 0];
      if (error) throw error;
      return Number(count);
    });
    if (replicas < wanted && warn) {
      log.warn(
        { doc, replicas, wanted, timeoutMs },
        'a change reached fewer replicas than REDIS_WAIT_REPLICAS in time; answered anyway',
      );
    }
    return replicas;
  }
}
