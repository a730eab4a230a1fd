import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createRedis, EVICTION_POLICY_MESSAGE, type RedisClient } from '../../src/redis/connection';
import { TRACE_COMMAND_MESSAGE } from '../../src/redis/instrument';
import { redisTestConfig, startRedis, type StartedRedis } from '../support/redis-harness';
import { captureLog, waitForLine } from '../support/redis-log-capture';
import { delay } from '../support/ws-client';

/**
 * Lines docs/operations.md promises operators: a warning when Redis may
 * evict keys, and the command trace of `DEBUG=redis:*` at the default log
 * level.
 */
let evicting: StartedRedis;
let safe: StartedRedis;
const clients: RedisClient[] = [];

beforeAll(async () => {
  [evicting, safe] = await Promise.all([
    startRedis(['--maxmemory', '100mb', '--maxmemory-policy', 'volatile-lru']),
    startRedis(),
  ]);
});
afterAll(async () => {
  await Promise.all([evicting?.stop(), safe?.stop()]);
});
afterEach(() => {
  for (const client of clients.splice(0)) client.disconnect();
});

function connect(server: StartedRedis, vars: Record<string, string> = {}, level = 'info') {
  const capture = captureLog(level as 'info');
  const config = redisTestConfig(server, vars);
  const client = createRedis(config, capture.log, 'commands', { checkEvictionPolicy: true });
  clients.push(client);
  return { client, lines: capture.lines };
}

describe('maxmemory-policy check', () => {
  it('logs an error naming the policy when Redis may evict keys', async () => {
    const { lines } = connect(evicting);
    const line = await waitForLine(lines, EVICTION_POLICY_MESSAGE);
    expect(line).toMatchObject({
      level: 50,
      policy: 'volatile-lru',
      maxmemory: 100 * 1024 * 1024,
      redis: `${evicting.host}:${evicting.port}`,
    });
    expect(line.msg).toContain('set maxmemory-policy noeviction');
  });

  it('says nothing with noeviction (the default of redis-server)', async () => {
    const { client, lines } = connect(safe);
    await client.ping();
    await delay(100);
    expect(lines.filter((l) => l.msg === EVICTION_POLICY_MESSAGE)).toEqual([]);
  });
});

describe('DEBUG=redis:*', () => {
  it('traces commands at the default log level (info), keys but no values', async () => {
    const { client, lines } = connect(safe, { DEBUG: 'redis:*', LOG_LEVEL: 'info' });
    await client.set('flow-ops-traced', 'the-value');
    const traced = lines.filter((l) => l.msg === TRACE_COMMAND_MESSAGE);
    expect(traced).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ command: 'set', key: 'flow-ops-traced', level: 20 }),
      ]),
    );
    expect(JSON.stringify(lines)).not.toContain('the-value');
  });

  it('stays quiet without DEBUG, and when the log level is silent', async () => {
    const plain = connect(safe, {}, 'info');
    await plain.client.get('flow-ops-untraced');
    const silent = connect(safe, { DEBUG: 'redis:*' }, 'silent');
    await silent.client.get('flow-ops-untraced');
    expect(
      [...plain.lines, ...silent.lines].filter((l) => l.msg === TRACE_COMMAND_MESSAGE),
    ).toEqual([]);
  });
});
