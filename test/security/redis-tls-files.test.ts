import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, configFrom } from '../../src/config';
import { randomKeyPrefix } from '../support/redis-harness';
import { flagEnv } from '../support/redis-env';
import { freePort } from '../support/redis-processes';
import { randomDoc, startTestServer } from '../support/test-server';
import { TestClient } from '../support/ws-client';

/**
 * A private certificate authority (a managed Redis's own CA) given as a
 * file, REDIS_TLS_CA_FILE, and a client certificate for a Redis that
 * requires one (mutual TLS), against redis-server processes with TLS.
 */
const run = promisify(execFile);
const ALL_REDIS = flagEnv({ websockets: true, collaboration: true, eventOrdering: true });

async function makeCertificates(dir: string): Promise<void> {
  const ssl = (...args: string[]) => run('openssl', args, { cwd: dir });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await ssl(
    'req',
    '-x509',
    ...ec,
    '-keyout',
    'ca.key',
    '-out',
    'ca.crt',
    '-days',
    '1',
    '-subj',
    '/CN=Flow test CA',
  );
  await writeFile(path.join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  for (const name of ['server', 'client']) {
    await ssl(
      'req',
      ...ec,
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.csr`,
      '-subj',
      `/CN=${name}`,
    );
    await ssl(
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      `${name}.crt`,
      '-days',
      '1',
      '-extfile',
      'san.ext',
    );
  }
}

/** redis-server on a TLS port only; `authClients` makes it require a client certificate. */
async function startTlsRedis(
  dir: string,
  authClients: boolean,
): Promise<{ port: number; child: ChildProcess; ready: boolean }> {
  const port = await freePort(false);
  const file = (name: string) => path.join(dir, name);
  const child = spawn(
    'redis-server',
    [
      '--port',
      '0',
      '--tls-port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--tls-cert-file',
      file('server.crt'),
      '--tls-key-file',
      file('server.key'),
      '--tls-ca-cert-file',
      file('ca.crt'),
      '--tls-auth-clients',
      authClients ? 'yes' : 'no',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      dir,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
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
  return { port, child, ready: output.includes('Ready to accept connections') };
}

async function stop(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

async function worksEndToEnd(vars: Record<string, string>): Promise<void> {
  const server = await startTestServer({
    REDIS_KEY_PREFIX: randomKeyPrefix(),
    REDIS_RETRY_DELAY: '50',
    ...ALL_REDIS,
    ...vars,
  });
  try {
    const health = await fetch(`${server.http}/health`);
    expect(await health.json()).toMatchObject({ checks: { redis: 'ok' } });
    const doc = randomDoc('tls');
    const client = await TestClient.connect(server.url);
    expect(await client.request({ type: 'join', doc })).toMatchObject({ type: 'joined' });
    const op = { op: 'set', coll: 'c', id: 'x', value: { n: 1 } };
    expect(await client.request({ type: 'op', doc, cseq: 1, ops: [op] })).toMatchObject({
      type: 'ack',
      seq: 1,
    });
    await client.close();
  } finally {
    await server.close();
  }
}

describe('REDIS_TLS_CA_FILE, REDIS_TLS_CERT_FILE and REDIS_TLS_KEY_FILE', () => {
  let dir: string;
  let oneWay: Awaited<ReturnType<typeof startTlsRedis>> | undefined;
  let mutual: Awaited<ReturnType<typeof startTlsRedis>> | undefined;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'flow-redis-tls-files-'));
    await makeCertificates(dir);
    oneWay = await startTlsRedis(dir, false);
    mutual = await startTlsRedis(dir, true);
    // This suite needs a redis-server built with TLS; CI installs one.
    if (!oneWay.ready || !mutual.ready) throw new Error('redis-server has no TLS support here');
  }, 60_000);
  afterAll(async () => {
    await stop(oneWay?.child);
    await stop(mutual?.child);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const at = (port: number | undefined) => ({
    REDIS_HOST: '127.0.0.1',
    REDIS_PORT: String(port),
    REDIS_TLS: 'true',
  });

  it('trusts the CA of the file, with certificate verification on', async () => {
    await worksEndToEnd({ ...at(oneWay?.port), REDIS_TLS_CA_FILE: path.join(dir, 'ca.crt') });
  }, 30_000);

  it('presents the client certificate to a Redis that requires one (mutual TLS)', async () => {
    await worksEndToEnd({
      ...at(mutual?.port),
      REDIS_TLS_CA_FILE: path.join(dir, 'ca.crt'),
      REDIS_TLS_CERT_FILE: path.join(dir, 'client.crt'),
      REDIS_TLS_KEY_FILE: path.join(dir, 'client.key'),
    });
  }, 30_000);

  it('refuses a file it cannot read, and a certificate without its key, naming the variables', () => {
    expect(() => configFrom({ REDIS_TLS_CA_FILE: path.join(dir, 'missing.crt') })).toThrow(
      /REDIS_TLS_CA_FILE: cannot read the file/,
    );
    const halfPair = () => configFrom({ REDIS_TLS_CERT_FILE: path.join(dir, 'client.crt') });
    expect(halfPair).toThrow(ConfigError);
    expect(halfPair).toThrow(/REDIS_TLS_CERT_FILE and REDIS_TLS_KEY_FILE/);
  });
});
