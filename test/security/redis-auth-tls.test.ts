import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFlowChild } from '../support/flow-processes';
import { randomKeyPrefix, startRedis, type StartedRedis } from '../support/redis-harness';
import { flagEnv } from '../support/redis-env';
import { freePort } from '../support/redis-processes';
import { waitFor } from '../support/scenarios';
import { randomDoc } from '../support/test-server';
import { TestClient } from '../support/ws-client';
import { startLoggedServer, type LoggedServer } from './auth-support';

/**
 * The operations guide's password cases both ways round, and TLS (Azure's
 * 6380, ElastiCache in-transit encryption), against real redis-server
 * processes: the product either works end to end, or logs the named
 * mismatch and answers /health with 503, and never logs the password.
 */
const run = promisify(execFile);
const PASSWORD = 'redis-secret-for-the-security-tests';
const ALL_REDIS = flagEnv({ websockets: true, collaboration: true, eventOrdering: true });

const servers: LoggedServer[] = [];
async function serve(vars: Record<string, string>): Promise<LoggedServer> {
  const server = await startLoggedServer({
    REDIS_KEY_PREFIX: randomKeyPrefix(),
    REDIS_RETRY_DELAY: '50',
    REDIS_MAX_RETRIES: '1',
    ...ALL_REDIS,
    ...vars,
  });
  servers.push(server);
  return server;
}
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

async function health(server: { http: string }): Promise<{ status: number; redis: string }> {
  const res = await fetch(`${server.http}/health`);
  const body = (await res.json()) as { checks?: { redis?: string } };
  return { status: res.status, redis: body.checks?.redis ?? '' };
}

/** Two clients on one document through this gateway: join, op, ack, event, snapshot. */
async function endToEnd(server: { url: string; http: string }): Promise<void> {
  const doc = randomDoc('e2e');
  const a = await TestClient.connect(server.url);
  const b = await TestClient.connect(server.url);
  try {
    expect(await a.request({ type: 'join', doc })).toMatchObject({ type: 'joined', seq: 0 });
    expect(await b.request({ type: 'join', doc })).toMatchObject({ type: 'joined', seq: 0 });
    expect(
      await a.request({
        type: 'op',
        doc,
        cseq: 1,
        ops: [{ op: 'set', coll: 'nodes', id: 'n', value: { ok: true } }],
      }),
    ).toMatchObject({ type: 'ack', seq: 1 });
    expect(await b.next((m) => m.type === 'event')).toMatchObject({ seq: 1 });
    const snapshot = await (await fetch(`${server.http}/docs/${doc}`)).json();
    expect(snapshot).toMatchObject({ seq: 1, state: { nodes: { n: { ok: true } } } });
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
}

/** A join is refused with UNAVAILABLE (not left hanging) while Redis refuses us. */
async function refusesJoin(server: { url: string }): Promise<void> {
  const client = await TestClient.connect(server.url);
  try {
    const reply = await client.request({ type: 'join', doc: randomDoc('refused') }, 'j');
    expect(reply).toMatchObject({ type: 'error', code: 'UNAVAILABLE' });
  } finally {
    await client.close();
  }
}

function lines(server: LoggedServer): Array<{ level: number; msg: string; [k: string]: unknown }> {
  return server
    .logText()
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as { level: number; msg: string });
}

describe('REDIS_PASSWORD against a Redis with requirepass', () => {
  let redis: StartedRedis;
  beforeAll(async () => {
    redis = await startRedis(['--requirepass', PASSWORD]);
  });
  afterAll(async () => {
    await redis?.stop();
  });
  const where = () => ({ REDIS_HOST: redis.host, REDIS_PORT: String(redis.port) });

  it('the right password: healthy and works end to end; the password is never logged', async () => {
    const server = await serve({ ...where(), REDIS_PASSWORD: PASSWORD, DEBUG: 'redis:*' });
    expect(await health(server)).toMatchObject({ status: 200, redis: 'ok' });
    await endToEnd(server);
    expect(server.logText()).toContain('✅ Redis connected successfully');
    expect(server.logText()).not.toContain(PASSWORD);
  });

  it('a wrong password: the log names it, /health is 503, joins are UNAVAILABLE, the password is not logged', async () => {
    // The production logger (a child process): its redaction is part of what is tested.
    const wrong = 'not-the-password-but-close-to-it';
    const child = await startFlowChild(
      'all',
      {
        ...where(),
        ...ALL_REDIS,
        REDIS_KEY_PREFIX: randomKeyPrefix(),
        REDIS_RETRY_DELAY: '50',
        REDIS_MAX_RETRIES: '1',
        REDIS_PASSWORD: wrong,
        LOG_LEVEL: 'debug',
      },
      40_000,
    );
    try {
      const named = (l: string) =>
        l.includes('Redis rejected the password: REDIS_PASSWORD (or REDIS_USERNAME) is wrong');
      await waitFor(() => child.lines.some(named), 5_000, 'the wrong-password line');
      const h = await health(child);
      expect(h.status).toBe(503);
      expect(h.redis).not.toBe('ok');
      await refusesJoin(child);
    } finally {
      await child.kill('SIGTERM');
    }
    // ioredis errors carry the refused `HELLO 3 AUTH default <password>`:
    // the logger redacts `err.command.args`.
    const leaked = child.lines.filter((l) => l.includes(wrong));
    expect(leaked).toEqual([]);
    expect(child.lines.join('\n')).toContain('[redacted]');
  }, 60_000);

  it('no password: the log says Redis requires one, /health is 503, joins are UNAVAILABLE', async () => {
    const server = await serve({ ...where() });
    await waitFor(
      () => lines(server).some((l) => l.msg === 'Redis requires a password: set REDIS_PASSWORD'),
      5_000,
      'the password-required line',
    );
    expect((await health(server)).status).toBe(503);
    await refusesJoin(server);
  });
});

describe('REDIS_PASSWORD against a Redis without a password', () => {
  let redis: StartedRedis;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  it('warns that the password is not needed and works', async () => {
    const server = await serve({
      REDIS_HOST: redis.host,
      REDIS_PORT: String(redis.port),
      REDIS_PASSWORD: 'set-but-not-needed',
    });
    await waitFor(
      () =>
        lines(server).some(
          (l) =>
            l.msg ===
            'REDIS_PASSWORD is set but Redis has no password: remove REDIS_PASSWORD or set requirepass',
        ),
      5_000,
      'the password-not-needed line',
    );
    expect((await health(server)).status).toBe(200);
    await endToEnd(server);
    expect(server.logText()).not.toContain('set-but-not-needed');
  });
});

/**
 * TLS with a CA and a server certificate made by openssl at test time:
 * REDIS_TLS and REDIS_TLS_REJECT_UNAUTHORIZED, and a private CA trusted the
 * Node.js way, NODE_EXTRA_CA_CERTS, read at process start (hence a child
 * process). REDIS_TLS_CA_FILE and mutual TLS: redis-tls-files.test.ts.
 */
describe('REDIS_TLS against redis-server --tls-port (password required too, as Azure does)', () => {
  let dir: string;
  let redis: ChildProcess | undefined;
  let tlsPort = 0;
  let tlsSupported = true;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'flow-redis-tls-'));
    const ssl = (...args: string[]) => run('openssl', args, { cwd: dir });
    await ssl(
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      'ca.key',
      '-out',
      'ca.crt',
      '-days',
      '1',
      '-subj',
      '/CN=Flow test CA',
    );
    await ssl(
      'req',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      'server.key',
      '-out',
      'server.csr',
      '-subj',
      '/CN=localhost',
    );
    await writeFile(path.join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
    await ssl(
      'x509',
      '-req',
      '-in',
      'server.csr',
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      'server.crt',
      '-days',
      '1',
      '-extfile',
      'san.ext',
    );
    tlsPort = await freePort(false);
    const child = spawn(
      'redis-server',
      [
        '--port',
        '0',
        '--tls-port',
        String(tlsPort),
        '--bind',
        '127.0.0.1',
        '--tls-cert-file',
        path.join(dir, 'server.crt'),
        '--tls-key-file',
        path.join(dir, 'server.key'),
        '--tls-ca-cert-file',
        path.join(dir, 'ca.crt'),
        '--tls-auth-clients',
        'no',
        '--requirepass',
        PASSWORD,
        '--save',
        '',
        '--appendonly',
        'no',
        '--dir',
        dir,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    redis = child;
    const output = await new Promise<string>((resolve) => {
      let text = '';
      const timer = setTimeout(() => resolve(text), 10_000);
      const onData = (chunk: Buffer) => {
        text += chunk.toString();
        if (text.includes('Ready to accept connections')) {
          clearTimeout(timer);
          resolve(text);
        }
      };
      child.stdout?.on('data', onData);
      child.stderr?.on('data', onData);
      child.once('exit', () => resolve(text));
    });
    child.stdout?.resume();
    child.stderr?.resume();
    // A build without TLS says so ("Bad directive or wrong number of arguments").
    tlsSupported = output.includes('Ready to accept connections');
    if (!tlsSupported) console.warn(`redis-server has no TLS support here:\n${output}`);
  }, 30_000);

  afterAll(async () => {
    if (redis && redis.exitCode === null) {
      const exited = new Promise((resolve) => redis?.once('exit', resolve));
      redis.kill('SIGTERM');
      await exited;
    }
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const tlsEnv = () => ({
    REDIS_HOST: '127.0.0.1',
    REDIS_PORT: String(tlsPort),
    REDIS_PASSWORD: PASSWORD,
    REDIS_TLS: 'true',
  });

  it('REDIS_TLS=true without certificate verification: works end to end', async (ctx) => {
    if (!tlsSupported) ctx.skip();
    const server = await serve({ ...tlsEnv(), REDIS_TLS_REJECT_UNAUTHORIZED: 'false' });
    expect(await health(server)).toMatchObject({ status: 200, redis: 'ok' });
    await endToEnd(server);
  });

  it('with verification on (the default), a certificate from an unknown CA is refused: 503 and a log line', async (ctx) => {
    if (!tlsSupported) ctx.skip();
    const server = await serve(tlsEnv());
    await waitFor(
      () => lines(server).some((l) => /certificate/i.test(String(l.error ?? ''))),
      5_000,
      'a log line naming the certificate',
    );
    expect((await health(server)).status).toBe(503);
  });

  it('with verification on and the CA trusted through NODE_EXTRA_CA_CERTS: works end to end', async (ctx) => {
    if (!tlsSupported) ctx.skip();
    const child = await startFlowChild(
      'all',
      {
        ...tlsEnv(),
        ...ALL_REDIS,
        REDIS_KEY_PREFIX: randomKeyPrefix(),
        NODE_EXTRA_CA_CERTS: path.join(dir, 'ca.crt'),
      },
      40_000,
    );
    try {
      expect(await health(child)).toMatchObject({ status: 200, redis: 'ok' });
      await endToEnd(child);
      expect(child.lines.join('\n')).not.toContain(PASSWORD);
    } finally {
      await child.kill('SIGTERM');
    }
  }, 60_000);

  it('plain TCP to the TLS port (REDIS_TLS off): 503, not a hang', async (ctx) => {
    if (!tlsSupported) ctx.skip();
    const server = await serve({ ...tlsEnv(), REDIS_TLS: 'false' });
    expect((await health(server)).status).toBe(503);
  });
});
