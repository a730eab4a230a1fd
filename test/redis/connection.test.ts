import net from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { UnavailableError } from '../../src/protocol/errors';
import { createRedis, retryDelay, type RedisClient } from '../../src/redis/connection';
import { ConnectionMessages } from '../../src/redis/connection-log';
import { unavailableFrom } from '../../src/redis/errors';
import { SLOW_COMMAND_MESSAGE, TRACE_COMMAND_MESSAGE } from '../../src/redis/instrument';
import { redisTestConfig, startRedis, type StartedRedis } from '../support/redis-harness';
import { captureLog, waitForLine } from '../support/redis-log-capture';
import { waitFor } from '../support/scenarios';

/** What operators read when the connection works, fails, or is misconfigured. */

const PASSWORD = 'pa55-w0rd-for-tests';
let open: StartedRedis;
let locked: StartedRedis;
const clients: RedisClient[] = [];

beforeAll(async () => {
  [open, locked] = await Promise.all([
    startRedis(['--enable-debug-command', 'yes']),
    startRedis(['--requirepass', PASSWORD]),
  ]);
});
afterAll(async () => {
  await Promise.all([open?.stop(), locked?.stop()]);
});
afterEach(() => {
  for (const client of clients.splice(0)) client.disconnect();
});

function connect(server: Parameters<typeof redisTestConfig>[0], vars: Record<string, string> = {}) {
  const capture = captureLog();
  const config = redisTestConfig(server, { REDIS_MAX_RETRIES: '1', ...vars });
  const client = createRedis(config, capture.log, 'test');
  clients.push(client);
  return { client, lines: capture.lines };
}

/** A port on which nothing listens (bound, then released). */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('createRedis: connection log', () => {
  it('says once that Redis is connected, naming host:port and never the password', async () => {
    const { client, lines } = connect(locked, { REDIS_PASSWORD: PASSWORD });
    const line = await waitForLine(lines, ConnectionMessages.connected);
    expect(line).toMatchObject({
      redis: `${locked.host}:${locked.port}`,
      purpose: 'test',
      level: 30,
    });
    expect(await client.ping()).toBe('PONG');
    expect(lines.filter((l) => l.msg === ConnectionMessages.connected)).toHaveLength(1);
    expect(JSON.stringify(lines)).not.toContain(PASSWORD);
  });

  it('turns ECONNREFUSED into one "not reachable" line that says how to start Redis', async () => {
    const port = await closedPort();
    const { client, lines } = connect({ host: '127.0.0.1', port });
    const line = await waitForLine(lines, ConnectionMessages.unreachable);
    expect(line).toMatchObject({ redis: `127.0.0.1:${port}`, level: 50 });
    expect(line.error).toMatch(/ECONNREFUSED/);
    expect(line.msg).toMatch(/redis-server/);
    expect(line.msg).toMatch(/npm run cluster:up/);
    expect(line.msg).toMatch(/docker run -d --name redis-flow/);
    // Commands fail fast (UNAVAILABLE for clients) instead of hanging.
    const failure = await client.get('k').catch((err: unknown) => err);
    expect(unavailableFrom(failure)).toBeInstanceOf(UnavailableError);
    // Retries went on meanwhile; the line was not repeated.
    expect(lines.filter((l) => l.msg === ConnectionMessages.unreachable)).toHaveLength(1);
  });

  it('says the same for a cluster of which no node answers, and fails commands instead of queueing them', async () => {
    const ports = [await closedPort(), await closedPort()];
    const { client, lines } = connect(ports.map((port) => ({ host: '127.0.0.1', port })));
    const failure = await client.get('k').catch((err: unknown) => err);
    expect(unavailableFrom(failure)).toBeInstanceOf(UnavailableError);
    const line = await waitForLine(lines, ConnectionMessages.unreachable);
    expect(line.redis).toBe(`cluster ${ports.map((p) => `127.0.0.1:${p}`).join(',')}`);
    expect(line.error).toMatch(/ECONNREFUSED/);
  });

  it('names a password the Redis does not have', async () => {
    const { client, lines } = connect(open, { REDIS_PASSWORD: 'not-needed' });
    const line = await waitForLine(lines, ConnectionMessages.passwordNotNeeded);
    expect(line.msg).toBe(
      'REDIS_PASSWORD is set but Redis has no password: remove REDIS_PASSWORD or set requirepass',
    );
    expect(line.error).toMatch(/without any password configured/);
    expect(JSON.stringify(lines)).not.toContain('not-needed');
    // The connection still works: the server ignores the password.
    expect(await client.ping()).toBe('PONG');
  });

  it('names a password the Redis requires but the config lacks', async () => {
    const { client, lines } = connect(locked);
    const line = await waitForLine(lines, ConnectionMessages.passwordRequired);
    expect(line.msg).toBe('Redis requires a password: set REDIS_PASSWORD');
    expect(line.error).toMatch(/NOAUTH/);
    const failure = await client.get('k').catch((err: unknown) => err);
    expect(unavailableFrom(failure)).toBeInstanceOf(UnavailableError);
  });

  it('names a wrong password without printing it', async () => {
    const { lines } = connect(locked, { REDIS_PASSWORD: 'wrong-secret' });
    const line = await waitForLine(lines, ConnectionMessages.passwordWrong);
    expect(line.error).toMatch(/WRONGPASS/);
    expect(JSON.stringify(lines)).not.toContain('wrong-secret');
  });
});

describe('createRedis: command hooks', () => {
  it('logs a command slower than REDIS_SLOW_COMMAND_MS with its name and time, not its arguments', async () => {
    const { client, lines } = connect(open, { REDIS_SLOW_COMMAND_MS: '20' });
    await client.ping();
    await client.call('DEBUG', 'SLEEP', '0.06');
    await client.set('flow-test-fast', 'v');
    const slow = lines.filter((l) => l.msg === SLOW_COMMAND_MESSAGE);
    expect(slow).toHaveLength(1);
    expect(slow[0]).toMatchObject({ command: 'debug', thresholdMs: 20, level: 40 });
    expect(slow[0]?.ms).toBeGreaterThanOrEqual(50);
    expect(JSON.stringify(slow)).not.toContain('0.06');
  });

  it('logs a burst of slow commands as one line, then one line a second with how many more there were', async () => {
    const { client, lines } = connect(open, { REDIS_SLOW_COMMAND_MS: '20' });
    await client.ping();
    // Redis runs them one after the other: each waits for the ones before it.
    await Promise.all(Array.from({ length: 5 }, () => client.call('DEBUG', 'SLEEP', '0.03')));
    const slow = () => lines.filter((l) => l.msg === SLOW_COMMAND_MESSAGE);
    expect(slow()).toHaveLength(1);
    await waitFor(() => slow().length === 2, 3000, 'the summary line');
    expect(slow()[1]).toMatchObject({ command: 'debug', count: 4, thresholdMs: 20, level: 40 });
    expect(slow()[1]?.maxMs).toBeGreaterThanOrEqual(100);
  });

  it('traces every command with its key and no value when DEBUG=redis:*', async () => {
    const { client, lines } = connect(open, { DEBUG: 'redis:*', LOG_LEVEL: 'debug' });
    await client.set('flow-test-traced', 'secret-value');
    await client.get('flow-test-traced');
    const traced = lines.filter((l) => l.msg === TRACE_COMMAND_MESSAGE);
    expect(traced).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ command: 'set', key: 'flow-test-traced', level: 20 }),
        expect.objectContaining({ command: 'get', key: 'flow-test-traced', level: 20 }),
      ]),
    );
    expect(JSON.stringify(lines)).not.toContain('secret-value');
  });

  it('traces nothing without DEBUG=redis:*', async () => {
    const { client, lines } = connect(open, { LOG_LEVEL: 'debug' });
    await client.get('flow-test-untraced');
    expect(lines.filter((l) => l.msg === TRACE_COMMAND_MESSAGE)).toEqual([]);
  });
});

describe('retryDelay', () => {
  it('grows from REDIS_RETRY_DELAY to five times it', () => {
    const config = redisTestConfig(open ?? { host: 'localhost', port: 6379 }, {
      REDIS_RETRY_DELAY: '1000',
    });
    expect([1, 2, 3, 5, 6, 50].map((n) => retryDelay(config, n))).toEqual([
      1000, 2000, 3000, 5000, 5000, 5000,
    ]);
  });
});
