import { SingleProcessBusyError, StartupError } from '../config/startup-error';
import type { Logger } from 'pino';
import type { RedisClient } from './';
import { LuaScript } from './lua-script';
import { LEASE_RELEASE_LUA } from './lua/lease-release-1.lua';
import { LEASE_RENEW_LUA } from './lua/lease-renew-1.lua';

const LEASE_MS = 15_000;
const RENEW = new LuaScript('lease-renew-1', LEASE_RENEW_LUA, 1);
const RELEASE = new LuaScript('lease-release-1', LEASE_RELEASE_LUA, 1);
const RENEW_MS = 5_000;

/**
 * A configuration with a service in memory serves one process only. When it
 * also uses Redis, the process takes this lease so that a second one started
 * by mistake (pm2 instances: 2) refuses to start instead of splitting
 * documents between processes.
 */
export class SingleProcessLease {
  private timer: NodeJS.Timeout | undefined;

  private constructor(
    private readonly client: RedisClient,
    private readonly key: string,
    private readonly owner: string,
    private readonly log: Logger,
  ) {}

  static async acquire(
    client: RedisClient,
    key: string,
    owner: string,
    log: Logger,
  ): Promise<SingleProcessLease> {
    let taken: string | null;
    try {
      taken = await client.set(key, owner, 'PX', LEASE_MS, 'NX');
    } catch (err) {
      throw new StartupError(
        `cannot reach Redis to check that no other process runs this single-process configuration (${(err as Error).message}); ` +
          'start Redis, or turn every USE_REDIS_* flag off (or on)',
      );
    }
    if (taken !== 'OK') {
      const holder = await client.get(key);
      if (holder !== owner) {
        throw new SingleProcessBusyError(
          `another process (${holder ?? 'unknown'}) already runs with a service in memory against this Redis; ` +
            'such a configuration serves one process only. Stop it, or turn on USE_REDIS_COLLABORATION and ' +
            `USE_REDIS_WEBSOCKETS to run several (the lease ${key} expires ${LEASE_MS / 1000} s after it stops)`,
        );
      }
    }
    const lease = new SingleProcessLease(client, key, owner, log);
    lease.timer = setInterval(() => lease.renew(), RENEW_MS);
    lease.timer.unref();
    return lease;
  }

  private renew(): void {
    RENEW.run(this.client, [this.key], [this.owner, LEASE_MS])
      .then((held) => {
        if (held !== 1)
          this.log.error({ key: this.key }, 'single-process lease is held by another process');
      })
      .catch(() => undefined);
  }

  async release(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await RELEASE.run(this.client, [this.key], [this.owner]).catch(() => undefined);
  }
}
