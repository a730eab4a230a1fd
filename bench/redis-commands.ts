/**
 * Redis commands run over a measured window, from INFO commandstats of every
 * cluster node: what each acked op costs Redis in calls, whatever the
 * machine's load (CPU figures vary from run to run; call counts do not).
 * Commands a Lua script runs are counted too, under their own names, besides
 * the EVALSHA that ran them.
 */
import { Redis } from 'ioredis';
import type { RedisEndpoint } from '../test/support/redis-types';

/** One figure per command name (calls, or microseconds), summed over the nodes. */
export type CommandCalls = Record<string, number>;

/**
 * Reads `cmdstat_<name>:calls=<n>,usec=<n>,...` lines (other lines are
 * ignored): each command's calls, or the microseconds Redis spent in it.
 */
export function parseCommandStats(info: string, figure: 'calls' | 'usec' = 'calls'): CommandCalls {
  const out: CommandCalls = {};
  for (const line of info.split('\n')) {
    const match = /^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/.exec(line.trim());
    if (match) out[match[1] as string] = Number(figure === 'calls' ? match[2] : match[3]);
  }
  return out;
}

export async function sampleCommandCalls(nodes: readonly RedisEndpoint[]): Promise<CommandCalls> {
  const total: CommandCalls = {};
  await Promise.all(
    nodes.map(async ({ host, port }) => {
      // Bounded: a node stopped by a fault run must not hold the bench up.
      const redis = new Redis({
        host,
        port,
        lazyConnect: true,
        maxRetriesPerRequest: 1,
        connectTimeout: 2000,
        commandTimeout: 2000,
        retryStrategy: () => null,
      });
      // The failure reaches the caller as the rejection below.
      redis.on('error', () => undefined);
      try {
        await redis.connect();
        const calls = parseCommandStats(await redis.info('commandstats'));
        for (const [name, n] of Object.entries(calls)) total[name] = (total[name] ?? 0) + n;
      } finally {
        redis.disconnect();
      }
    }),
  );
  return total;
}

/**
 * What the sampler's own connections send (the ready check's INFO, the
 * client name), left out: Flow's processes send neither under load.
 */
const SAMPLER_COMMANDS = new Set(['info', 'client|setinfo', 'client|setname']);

/** What was added between two samples (calls or microseconds), by command. */
export function statsBetween(before: CommandCalls, after: CommandCalls): CommandCalls {
  const out: CommandCalls = {};
  for (const [name, n] of Object.entries(after)) {
    if (SAMPLER_COMMANDS.has(name)) continue;
    const made = n - (before[name] ?? 0);
    if (made > 0) out[name] = made;
  }
  return out;
}
