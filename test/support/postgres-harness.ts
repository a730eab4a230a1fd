import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { chown, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { containerRuntimeAvailable } from './redis-containers';
import { freePort } from './redis-processes';

const run = promisify(execFile);

/** A PostgreSQL server of a test: `url` to connect, `stop()` removes it with its data. */
export interface StartedPostgres {
  url: string;
  stop(): Promise<void>;
}

const USER = 'flow';
const DATABASE = 'flow';

/**
 * PostgreSQL for tests: Testcontainers when a Docker engine answers
 * (`FLOW_TEST_POSTGRES=process|container` forces one), otherwise a server
 * from Debian's binaries (/usr/lib/postgresql/<version>/bin) on a free port,
 * its data in a temp dir removed at stop. initdb refuses to run as root, so
 * as root the server runs as the `postgres` user.
 */
export async function startPostgres(): Promise<StartedPostgres> {
  const forced = process.env.FLOW_TEST_POSTGRES;
  const container = forced ? forced === 'container' : await containerRuntimeAvailable();
  return container ? startPostgresContainer() : startPostgresProcess();
}

async function startPostgresContainer(): Promise<StartedPostgres> {
  const { GenericContainer, Wait } = await import('testcontainers');
  const started = await new GenericContainer('postgres:15-alpine')
    .withEnvironment({
      POSTGRES_USER: USER,
      POSTGRES_PASSWORD: USER,
      POSTGRES_DB: DATABASE,
    })
    .withCommand(['postgres', '-c', 'fsync=off'])
    .withExposedPorts(5432)
    .withWaitStrategy(Wait.forLogMessage(/database system is ready to accept connections/, 2))
    .start();
  let stopped: Promise<void> | undefined;
  return {
    url: `postgres://${USER}:${USER}@${started.getHost()}:${started.getMappedPort(5432)}/${DATABASE}`,
    stop: () => (stopped ??= started.stop().then(() => undefined)),
  };
}

function postgresBin(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => existsSync(path.join(root, v, 'bin', 'initdb')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  const version = versions[0];
  if (!version) {
    throw new Error(
      'no PostgreSQL server binaries in /usr/lib/postgresql/*/bin (Debian: apt-get install postgresql), ' +
        'and no Docker engine for Testcontainers',
    );
  }
  return path.join(root, version, 'bin');
}

async function startPostgresProcess(): Promise<StartedPostgres> {
  const bin = postgresBin();
  const asRoot = process.getuid?.() === 0;
  // As root, every server command runs as the `postgres` user, which owns the data.
  const exec = (tool: string, args: string[]) =>
    asRoot
      ? run('runuser', ['-u', 'postgres', '--', path.join(bin, tool), ...args])
      : run(path.join(bin, tool), args);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'flow-pg-'));
  const data = path.join(dir, 'data');
  if (asRoot) {
    const { stdout } = await run('id', ['-u', 'postgres']);
    const { stdout: gid } = await run('id', ['-g', 'postgres']);
    await chown(dir, Number(stdout.trim()), Number(gid.trim()));
  }
  let started = false;
  try {
    await exec('initdb', ['-D', data, '-U', USER, '-A', 'trust', '--no-sync', '-E', 'UTF8']);
    for (let attempt = 0; ; attempt++) {
      const port = await freePort(false);
      const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`;
      try {
        await exec('pg_ctl', [
          '-D',
          data,
          '-o',
          options,
          '-l',
          path.join(dir, 'log'),
          '-w',
          'start',
        ]);
      } catch (err) {
        if (attempt < 3) continue;
        throw err;
      }
      started = true;
      await exec('createdb', ['-h', '127.0.0.1', '-p', String(port), '-U', USER, DATABASE]);
      let stopped: Promise<void> | undefined;
      const stop = async () => {
        await exec('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']).catch(() => undefined);
        await rm(dir, { recursive: true, force: true });
      };
      return {
        url: `postgres://${USER}@127.0.0.1:${port}/${DATABASE}`,
        stop: () => (stopped ??= stop()),
      };
    }
  } catch (err) {
    if (started)
      await exec('pg_ctl', ['-D', data, '-m', 'immediate', 'stop']).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}
