import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '../..');
const PM2_BIN = path.join(ROOT, 'node_modules', 'pm2', 'bin', 'pm2');

export interface Pm2Process {
  name: string;
  pm_id: number;
  pid: number;
  status: string;
  restarts: number;
}

/**
 * A pm2 of its own for one test: PM2_HOME (and HOME) in a temp dir, so the
 * developer's pm2 and its processes are never touched; `stop()` kills its
 * daemon and every app it started. Runs the project's ecosystem.config.js as
 * it is, except that the apps run the TypeScript sources (`node --import tsx
 * src/cli.ts`) instead of `dist/`, so that the test never sees a stale build.
 */
export class Pm2Sandbox {
  private constructor(
    readonly home: string,
    private readonly env: Record<string, string>,
  ) {}

  /** `env` is the environment of every pm2 command, and so of the daemon and its apps. */
  static async create(env: Record<string, string>): Promise<Pm2Sandbox> {
    const home = await mkdtemp(path.join(os.tmpdir(), 'flow-pm2-'));
    // pm2 refuses a .ts script on Node 20; a .js shim loads the CLI through tsx.
    const shim = path.join(home, 'cli-from-source.js');
    await writeFile(shim, `require(${JSON.stringify(path.join(ROOT, 'src', 'cli.ts'))});\n`);
    await writeFile(
      path.join(home, 'ecosystem.config.js'),
      [
        `const base = require(${JSON.stringify(path.join(ROOT, 'ecosystem.config.js'))});`,
        'module.exports = {',
        '  apps: base.apps.map((app) => ({',
        '    ...app,',
        `    script: ${JSON.stringify(shim)},`,
        "    node_args: ['--import', 'tsx'],",
        '  })),',
        '};',
        '',
      ].join('\n'),
    );
    return new Pm2Sandbox(home, {
      PATH: process.env.PATH ?? '',
      HOME: home,
      PM2_HOME: path.join(home, 'pm2'),
      ...env,
    });
  }

  get ecosystem(): string {
    return path.join(this.home, 'ecosystem.config.js');
  }

  /** Runs `pm2 <args>` and returns its output; rejects when it fails. */
  async pm2(args: string[], timeoutMs = 60_000): Promise<string> {
    const { stdout, stderr } = await run(process.execPath, [PM2_BIN, ...args], {
      cwd: ROOT,
      env: this.env,
      timeout: timeoutMs,
      maxBuffer: 16 * 1024 * 1024,
    });
    return stdout + stderr;
  }

  async list(): Promise<Pm2Process[]> {
    const json = await this.pm2(['jlist']);
    const start = json.indexOf('[');
    const processes = JSON.parse(json.slice(start)) as Array<{
      name: string;
      pm_id: number;
      pid: number;
      pm2_env: { status: string; restart_time: number };
    }>;
    return processes.map((p) => ({
      name: p.name,
      pm_id: p.pm_id,
      pid: p.pid,
      status: p.pm2_env.status,
      restarts: p.pm2_env.restart_time,
    }));
  }

  /** The apps' log lines (JSON from pino, one file per app), for failure messages. */
  logFile(app: string, stream: 'out' | 'error' = 'out'): string {
    return path.join(this.env.PM2_HOME as string, 'logs', `${app}-${stream}.log`);
  }

  /** Kills the daemon with every app, then removes the temp dir. */
  async stop(): Promise<void> {
    await this.pm2(['kill'], 30_000).catch(() => undefined);
    await rm(this.home, { recursive: true, force: true });
  }
}

/** A TCP port nothing listens on right now (bound to 0, then released). */
export async function freeTcpPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
