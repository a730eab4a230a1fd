/**
 * The processes of the cluster benchmarks: Flow gateways and workers
 * (`node dist/cli.js ...`) against a Redis Cluster that the benchmark started
 * itself, and the Redis connections each process holds.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import type { RedisEndpoint } from '../test/support/redis-types';

const run = promisify(execFile);
export const ROOT = path.resolve(__dirname, '..');
const HOST = '127.0.0.1';

/** A port for a gateway, outside the Redis range of the test harness (17000-21999). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, HOST, () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(full) : fs.statSync(full).mtimeMs);
  }
  return newest;
}

/** Runs `npm run build` when dist/ is missing or older than src/. */
export function buildIfNeeded(log: (line: string) => void): void {
  const marker = path.join(ROOT, 'dist', 'loadtest', 'cli.js');
  const cli = path.join(ROOT, 'dist', 'cli.js');
  const built = fs.existsSync(marker) && fs.existsSync(cli) ? fs.statSync(marker).mtimeMs : 0;
  if (built > 0 && newestMtime(path.join(ROOT, 'src')) <= built) return;
  log(
    built === 0 ? 'dist/ is missing: npm run build' : 'src/ changed since the build: npm run build',
  );
  execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
}

export type FlowRole = 'all' | 'gateway' | 'worker';

export interface FlowProcessHandle {
  name: string;
  role: FlowRole;
  pid: number;
  /** The gateway's port; 0 for a worker. */
  port: number;
  child: ChildProcess;
  logFile: string;
  exited: Promise<number | null>;
}

/**
 * Node options that write a V8 CPU profile of the process to `dir` when it
 * exits. Sampled every 10 ms: at the default 1 ms, the profiler slowed the
 * processes of a 10,000-document run several times over on this machine.
 */
export function cpuProfileArgs(dir: string): string[] {
  return ['--cpu-prof', '--cpu-prof-interval', '10000', '--cpu-prof-dir', path.resolve(dir)];
}

/** Starts `node dist/cli.js <role>` and waits until it serves (/health, or the worker's start line). */
export async function startFlowProcess(
  name: string,
  role: FlowRole,
  env: Record<string, string>,
  logDir: string,
  /** Options of node itself, before the script (e.g. --cpu-prof). */
  nodeArgs: readonly string[] = [],
): Promise<FlowProcessHandle> {
  const port = role === 'worker' ? 0 : await freePort();
  fs.mkdirSync(logDir, { recursive: true });
  const logFile = path.join(logDir, `${name}.log`);
  const out = fs.openSync(logFile, 'w');
  const child = spawn(process.execPath, [...nodeArgs, path.join(ROOT, 'dist', 'cli.js'), role], {
    cwd: ROOT,
    env: {
      ...process.env,
      NODE_ENV: 'production',
      HOST,
      PORT: String(port),
      NODE_ID: name,
      LOG_LEVEL: 'info',
      ...env,
    },
    stdio: ['ignore', out, out],
  });
  fs.closeSync(out);
  if (child.pid === undefined) throw new Error(`could not start ${name}`);
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );
  let gone: number | null | undefined;
  void exited.then((code) => (gone = code));
  const handle: FlowProcessHandle = { name, role, pid: child.pid, port, child, logFile, exited };
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (gone !== undefined)
      throw new Error(`${name} exited with ${gone} before it served; see ${logFile}`);
    if (role === 'worker') {
      if (fs.readFileSync(logFile, 'utf8').includes('ordering worker started')) return handle;
    } else {
      try {
        if ((await fetch(`http://${HOST}:${port}/health`)).ok) return handle;
      } catch {
        // not listening yet
      }
    }
    if (Date.now() > deadline) throw new Error(`${name} did not start within 30 s; see ${logFile}`);
    await sleep(100);
  }
}

export async function stopFlowProcess(handle: FlowProcessHandle): Promise<void> {
  const { child } = handle;
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await handle.exited;
  clearTimeout(timer);
}

/** Socket inodes a process holds, from /proc/<pid>/fd. */
function socketInodes(pid: number): Set<string> {
  const inodes = new Set<string>();
  for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
    try {
      const match = /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (match?.[1]) inodes.add(match[1]);
    } catch {
      // closed meanwhile
    }
  }
  return inodes;
}

/**
 * The established TCP connections of process `pid` to any of `ports`, from
 * /proc/<pid>/fd and /proc/net/tcp{,6}: local port and remote port of each.
 */
export function tcpConnectionsTo(
  pid: number,
  ports: readonly number[],
): Array<{ localPort: number; remotePort: number }> {
  const inodes = socketInodes(pid);
  const wanted = new Set(ports);
  const found: Array<{ localPort: number; remotePort: number }> = [];
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
      if (f.length < 10 || f[3] !== '01' || !inodes.has(f[9] as string)) continue;
      const localPort = parseInt((f[1] as string).split(':')[1] as string, 16);
      const remotePort = parseInt((f[2] as string).split(':')[1] as string, 16);
      if (wanted.has(remotePort)) found.push({ localPort, remotePort });
    }
  }
  return found;
}

/** `CLIENT LIST` of every node: connection name by client port. */
export async function redisClientNames(
  nodes: readonly RedisEndpoint[],
): Promise<Map<number, string>> {
  const names = new Map<number, string>();
  for (const node of nodes) {
    const { stdout } = await run('redis-cli', [
      '-h',
      node.host,
      '-p',
      String(node.port),
      'CLIENT',
      'LIST',
    ]);
    for (const line of stdout.split('\n')) {
      const addr = /\baddr=[^ ]*:(\d+)\b/.exec(line);
      const name = /\bname=([^ ]*)/.exec(line);
      if (addr?.[1]) names.set(Number(addr[1]), name?.[1] ?? '');
    }
  }
  return names;
}

export interface ConnectionCount {
  process: string;
  pid: number;
  /** Established TCP connections to the cluster's nodes (from /proc). */
  total: number;
  /** The same connections by their `CLIENT SETNAME` name (from CLIENT LIST). */
  byName: Record<string, number>;
}

/** How many Redis connections each process holds, and under which names. */
export async function countRedisConnections(
  processes: readonly FlowProcessHandle[],
  nodes: readonly RedisEndpoint[],
): Promise<ConnectionCount[]> {
  const names = await redisClientNames(nodes);
  // A process a fault killed holds nothing any more.
  const alive = processes.filter((p) => fs.existsSync(`/proc/${p.pid}/fd`));
  return alive.map((p) => {
    const connections = tcpConnectionsTo(
      p.pid,
      nodes.map((n) => n.port),
    );
    const byName: Record<string, number> = {};
    for (const c of connections) {
      const name = names.get(c.localPort) || '(unnamed)';
      byName[name] = (byName[name] ?? 0) + 1;
    }
    return { process: p.name, pid: p.pid, total: connections.length, byName };
  });
}

/**
 * The environment of ecosystem.config.js under a bench's own pm2: 2 gateways
 * on `port` and 2 workers against the cluster `seeds`, production logging,
 * rate limits out of the load's way.
 */
export function pm2FlowEnv(
  port: number,
  seeds: string,
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    HOST: '127.0.0.1',
    PORT: String(port),
    REDIS_CLUSTER_NODES: seeds,
    GATEWAY_INSTANCES: '2',
    WORKER_INSTANCES: '2',
    NODE_ENV: 'production',
    LOG_LEVEL: 'warn',
    SHUTDOWN_DRAIN_MS: '2000',
    LIMIT_MESSAGES_PER_SECOND: '100000',
    LIMIT_MESSAGE_BURST: '100000',
    ...extra,
  };
}
