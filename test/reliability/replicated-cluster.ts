import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../support/redis-processes';
import type { RedisEndpoint } from '../support/redis-types';

const run = promisify(execFile);
const HOST = '127.0.0.1';
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * A Redis Cluster of 3 masters and 3 replicas from `redis-server` on PATH,
 * as DESIGN.md measured it (cluster-node-timeout 3000: a master's failover
 * takes about 5-6 s). Ports come from the test harness's range
 * (17000-21999, never 6379 or 7001-7003), so bus ports (+10000) stay below
 * the ephemeral range. A test can kill -9 one node and watch a replica take
 * over.
 */
export interface ClusterNode extends RedisEndpoint {
  child: ChildProcess;
  pid: number;
}

export interface ReplicatedClusterOptions {
  nodeTimeoutMs?: number;
  /** Extra redis-server arguments for every node, e.g. AOF settings. */
  args?: string[];
}

export class ReplicatedCluster {
  private stopped: Promise<void> | undefined;

  private constructor(
    readonly nodes: ClusterNode[],
    private readonly dir: string,
  ) {}

  static async start(options: ReplicatedClusterOptions = {}): Promise<ReplicatedCluster> {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'flow-redis-replicated-'));
    const nodes: ClusterNode[] = [];
    const cluster = new ReplicatedCluster(nodes, dir);
    try {
      for (let i = 0; i < 6; i++) nodes.push(await startNode(dir, options));
      await run('redis-cli', [
        '--cluster',
        'create',
        ...nodes.map((n) => `${n.host}:${n.port}`),
        '--cluster-replicas',
        '1',
        '--cluster-yes',
      ]);
      await cluster.waitHealthy(30_000);
      return cluster;
    } catch (err) {
      await cluster.stop();
      throw err;
    }
  }

  /** `host:port,...` of every node, for REDIS_CLUSTER_NODES. */
  get seeds(): string {
    return this.nodes.map((n) => `${n.host}:${n.port}`).join(',');
  }

  private alive(): ClusterNode[] {
    return this.nodes.filter((n) => n.child.exitCode === null && n.child.signalCode === null);
  }

  async cli(node: RedisEndpoint, ...args: string[]): Promise<string> {
    const { stdout } = await run('redis-cli', ['-h', node.host, '-p', String(node.port), ...args]);
    return stdout;
  }

  /** Every live node reports cluster_state:ok and every master has a replica in sync. */
  async healthy(): Promise<boolean> {
    const alive = this.alive();
    for (const node of alive) {
      if (!/cluster_state:ok/.test(await this.cli(node, 'cluster', 'info').catch(() => ''))) {
        return false;
      }
    }
    const masters = await this.masters();
    for (const master of masters) {
      const info = await this.cli(master, 'info', 'replication').catch(() => '');
      if (!/connected_slaves:[1-9]/.test(info) || !/slave0:.*state=online/.test(info)) return false;
    }
    return masters.length === 3;
  }

  async waitHealthy(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await this.healthy())) {
      if (Date.now() > deadline) throw new Error('the Redis Cluster did not become healthy');
      await sleep(100);
    }
  }

  /** The masters that hold slots, as the live nodes see them. */
  async masters(): Promise<ClusterNode[]> {
    const alive = this.alive();
    const first = alive[0];
    if (!first) return [];
    const text = await this.cli(first, 'cluster', 'nodes');
    const ports = new Set<number>();
    for (const line of text.split('\n')) {
      const [, address = '', flags = '', , , , , , ...slots] = line.split(' ');
      if (flags.includes('master') && !flags.includes('fail') && slots.length > 0)
        ports.add(Number(address.split(':')[1]?.split('@')[0]));
    }
    return alive.filter((n) => ports.has(n.port));
  }

  /** The node that serves `key`'s slot now. */
  async masterOf(key: string): Promise<ClusterNode> {
    const first = this.alive()[0] as ClusterNode;
    const slot = Number((await this.cli(first, 'cluster', 'keyslot', key)).trim());
    const text = await this.cli(first, 'cluster', 'nodes');
    for (const line of text.split('\n')) {
      const [, address = '', flags = '', , , , , , ...ranges] = line.split(' ');
      if (!flags.includes('master') || flags.includes('fail')) continue;
      for (const range of ranges) {
        const [lo = -1, hi = lo] = range.split('-').map(Number);
        if (slot >= lo && slot <= hi) {
          const port = Number(address.split(':')[1]?.split('@')[0]);
          const node = this.nodes.find((n) => n.port === port);
          if (node) return node;
        }
      }
    }
    throw new Error(`no master serves the slot of ${key}`);
  }

  /** The replica of `master`, as the live nodes see it. */
  async replicaOf(master: ClusterNode): Promise<ClusterNode> {
    const first = this.alive()[0] as ClusterNode;
    const text = await this.cli(first, 'cluster', 'nodes');
    const rows = text.split('\n').map((line) => line.split(' '));
    const port = (address: string) => Number(address.split(':')[1]?.split('@')[0]);
    const masterId = rows.find((r) => port(r[1] ?? '') === master.port)?.[0];
    const row = rows.find((r) => (r[2] ?? '').includes('slave') && r[3] === masterId);
    const node = this.nodes.find((n) => row && n.port === port(row[1] ?? ''));
    if (!node) throw new Error(`no replica of ${master.port}`);
    return node;
  }

  /** kill -9 of one node: no shutdown, no last writes, as a machine failure. */
  async kill(node: ClusterNode): Promise<void> {
    if (node.child.exitCode !== null || node.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => node.child.once('exit', () => resolve()));
    node.child.kill('SIGKILL');
    await exited;
  }

  /** Resolves when a replica has taken over every slot (cluster_state ok on the live nodes). */
  async waitFailover(timeoutMs: number): Promise<number> {
    const started = performance.now();
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const states = await Promise.all(
        this.alive().map((n) => this.cli(n, 'cluster', 'info').catch(() => '')),
      );
      const masters = await this.masters().catch(() => []);
      if (states.every((s) => /cluster_state:ok/.test(s)) && masters.length === 3)
        return performance.now() - started;
      if (Date.now() > deadline) throw new Error('no replica took over in time');
      await sleep(50);
    }
  }

  stop(): Promise<void> {
    return (this.stopped ??= (async () => {
      await Promise.all(
        this.nodes.map(async (n) => {
          if (n.child.exitCode !== null || n.child.signalCode !== null) return;
          const exited = new Promise<void>((resolve) => n.child.once('exit', () => resolve()));
          n.child.kill('SIGKILL');
          await exited;
        }),
      );
      await rm(this.dir, { recursive: true, force: true });
    })());
  }
}

/** Nodes still running; killed if the test process exits without stopping them. */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

async function startNode(dir: string, options: ReplicatedClusterOptions): Promise<ClusterNode> {
  for (let attempt = 0; ; attempt++) {
    const port = await freePort(true);
    const child = spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        HOST,
        '--dir',
        dir,
        '--save',
        '',
        '--appendonly',
        'no',
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        `nodes-${port}.conf`,
        '--cluster-node-timeout',
        String(options.nodeTimeoutMs ?? 3000),
        '--maxmemory-policy',
        'noeviction',
        ...(options.args ?? []),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    running.add(child);
    child.once('exit', () => running.delete(child));
    const ready = await new Promise<boolean>((resolve) => {
      let output = '';
      const done = (ok: boolean) => {
        clearTimeout(timer);
        child.stdout?.off('data', onData);
        child.stderr?.off('data', onData);
        resolve(ok);
      };
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('Ready to accept connections')) done(true);
      };
      const timer = setTimeout(() => done(false), 10_000);
      child.stdout?.on('data', onData);
      child.stderr?.on('data', onData);
      child.once('exit', () => done(false));
    });
    if (ready && child.pid !== undefined) {
      child.stdout?.resume();
      child.stderr?.resume();
      return { host: HOST, port, child, pid: child.pid };
    }
    child.kill('SIGKILL');
    if (attempt >= 5) throw new Error(`redis-server did not start on port ${port}`);
  }
}
