import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { RedisEndpoint, StartedRedis, StartedRedisCluster } from './redis-types';

const run = promisify(execFile);

/**
 * Redis from `redis-server` on PATH, for hosts without a Docker engine.
 * Ports come from 17000-21999 (never 6379 or 7001-7003 of a developer's own
 * Redis), so a cluster bus port (port + 10000) stays below the ephemeral
 * range. Data lives in a temp dir removed at stop; nothing is persisted.
 */
const PORT_MIN = 17000;
const PORT_MAX = 21999;
const HOST = '127.0.0.1';

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, HOST, () => server.close(() => resolve(true)));
  });
}

export async function freePort(withBus: boolean): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = PORT_MIN + Math.floor(Math.random() * (PORT_MAX - PORT_MIN + 1));
    if ((await portIsFree(port)) && (!withBus || (await portIsFree(port + 10000)))) return port;
  }
  throw new Error(`no free port in ${PORT_MIN}-${PORT_MAX}`);
}

class PortTaken extends Error {}

/** Servers still running; killed if the test process exits without stopping them (a crash, a timeout). */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

function waitReady(child: ChildProcess, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`redis-server on ${port} did not start within 10 s:\n${output}`));
    }, 10_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Ready to accept connections')) {
        cleanup();
        resolve();
      }
    };
    const onExit = (code: number | null) => {
      cleanup();
      if (/Address already in use/.test(output)) reject(new PortTaken(output));
      else reject(new Error(`redis-server on ${port} exited with ${code}:\n${output}`));
    };
    const onError = (err: Error) => {
      cleanup();
      reject(
        new Error(
          `cannot run redis-server (is it on PATH? Debian: apt-get install redis-server): ${err.message}`,
        ),
      );
    };
    function cleanup() {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.stderr?.off('data', onData);
      child.off('exit', onExit);
      child.off('error', onError);
    }
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', onExit);
    child.once('error', onError);
  });
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

interface ServerProcess {
  port: number;
  child: ChildProcess;
}

async function spawnServer(
  dir: string,
  args: readonly string[],
  cluster: boolean,
): Promise<ServerProcess> {
  for (let attempt = 0; ; attempt++) {
    const port = await freePort(cluster);
    const child = spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        HOST,
        '--save',
        '',
        '--appendonly',
        'no',
        '--dir',
        dir,
        ...(cluster
          ? [
              '--cluster-enabled',
              'yes',
              '--cluster-config-file',
              `nodes-${port}.conf`,
              '--cluster-node-timeout',
              '3000',
            ]
          : []),
        ...args,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    running.add(child);
    child.once('exit', () => running.delete(child));
    try {
      await waitReady(child, port);
      // Keep draining the pipes so that a chatty server never blocks on a full pipe.
      child.stdout?.resume();
      child.stderr?.resume();
      return { port, child };
    } catch (err) {
      await stopProcess(child);
      // Another test file may have taken the port between the check and the bind.
      if (!(err instanceof PortTaken) || attempt >= 5) throw err;
    }
  }
}

export async function startRedisProcess(args: readonly string[] = []): Promise<StartedRedis> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'flow-redis-'));
  try {
    const server = await spawnServer(dir, args, false);
    let stopped: Promise<void> | undefined;
    return {
      host: HOST,
      port: server.port,
      stop: () =>
        (stopped ??= (async () => {
          await stopProcess(server.child);
          await rm(dir, { recursive: true, force: true });
        })()),
    };
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

async function clusterStateOk(port: number): Promise<boolean> {
  const { stdout } = await run('redis-cli', ['-h', HOST, '-p', String(port), 'cluster', 'info']);
  return /cluster_state:ok/.test(stdout);
}

/** Three masters, no replicas, slots spread by `redis-cli --cluster create`. */
export async function startRedisClusterProcesses(): Promise<StartedRedisCluster> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'flow-redis-cluster-'));
  const servers: ServerProcess[] = [];
  const stopAll = async () => {
    await Promise.all(servers.map((s) => stopProcess(s.child)));
    await rm(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < 3; i++) servers.push(await spawnServer(dir, [], true));
    const nodes: RedisEndpoint[] = servers.map((s) => ({ host: HOST, port: s.port }));
    await run('redis-cli', [
      '--cluster',
      'create',
      ...nodes.map((n) => `${n.host}:${n.port}`),
      '--cluster-yes',
    ]);
    const deadline = Date.now() + 15_000;
    for (const node of nodes) {
      while (!(await clusterStateOk(node.port))) {
        if (Date.now() > deadline)
          throw new Error(`cluster node ${node.port} never reached cluster_state:ok`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    let stopped: Promise<void> | undefined;
    const pids = servers.map((s) => s.child.pid).filter((pid): pid is number => pid !== undefined);
    return { nodes, pids, stop: () => (stopped ??= stopAll()) };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
