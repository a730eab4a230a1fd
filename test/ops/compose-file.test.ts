import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { configFrom, describeConfig } from '../../src/config';
import { freePort } from '../support/redis-processes';

/**
 * docker-compose.cluster.yml and the Dockerfile, checked without a Docker
 * engine: the YAML is parsed and compared with what the product expects
 * (CLI roles, configuration variables, ports, health checks), and the Redis
 * command lines and the cluster-forming script are run with redis-server
 * from PATH, addresses swapped for local ports.
 */
const ROOT = path.resolve(__dirname, '../..');
const run = promisify(execFile);

interface Healthcheck {
  test?: string[] | string;
  disable?: boolean;
}
interface Service {
  image?: string;
  build?: string | { context: string };
  command?: string | string[];
  entrypoint?: string[];
  ports?: string[];
  environment?: Record<string, string>;
  healthcheck?: Healthcheck;
  depends_on?: Record<string, { condition: string }>;
  volumes?: string[];
  networks?: Record<string, { ipv4_address?: string } | null> | string[];
  stop_grace_period?: string;
  deploy?: { replicas?: number };
}

async function loadCompose(): Promise<{ services: Record<string, Service> }> {
  const text = await readFile(path.join(ROOT, 'docker-compose.cluster.yml'), 'utf8');
  // Compose resolves YAML merge keys (`<<: *anchor`).
  return parse(text, { merge: true }) as { services: Record<string, Service> };
}

/** The roles `flow <role>` accepts, from the CLI's usage line. */
async function cliRoles(): Promise<string[]> {
  const cli = await readFile(path.join(ROOT, 'src', 'cli.ts'), 'utf8');
  const usage = /usage: flow <([a-z|]+)>/.exec(cli)?.[1];
  if (!usage) throw new Error('no usage line in src/cli.ts');
  return usage.split('|').filter((role) => role !== 'config');
}

const configVariables = new Set(describeConfig(configFrom({})).map((entry) => entry.env));

function seconds(duration: string | undefined): number {
  const match = /^(\d+)(ms|s|m)$/.exec(duration ?? '');
  if (!match) return 0;
  const value = Number(match[1]);
  return match[2] === 'ms' ? value / 1000 : match[2] === 'm' ? value * 60 : value;
}

/** Compose unescapes `$$` to `$` in values. */
const unescape = (text: string) => text.replaceAll('$$', '$');

const REDIS_NODES = ['redis-1', 'redis-2', 'redis-3'];

function announcedAddress(service: Service): string {
  const command = String(service.command);
  const ip = /--cluster-announce-ip (\S+)/.exec(command)?.[1];
  if (!ip) throw new Error(`no --cluster-announce-ip in ${command}`);
  return ip;
}

describe('docker-compose.cluster.yml', () => {
  it('runs three cluster-enabled Redis 7 nodes with AOF on host ports 7001-7003', async () => {
    const { services } = await loadCompose();
    for (const [i, name] of REDIS_NODES.entries()) {
      const node = services[name] as Service;
      expect(node, name).toBeDefined();
      expect(node.image).toBe('redis:7-alpine');
      const command = String(node.command);
      for (const option of [
        '--cluster-enabled yes',
        '--cluster-config-file nodes.conf',
        '--cluster-node-timeout 5000',
        '--appendonly yes',
        '--maxmemory-policy noeviction',
      ]) {
        expect(command).toContain(option);
      }
      expect(node.ports).toEqual([`${7001 + i}:6379`]);
      expect(node.volumes?.some((v) => v.endsWith(':/data'))).toBe(true);
      expect(node.healthcheck?.test).toEqual(['CMD', 'redis-cli', 'ping']);
      // The address a node announces is the one it has on the app network.
      const networks = node.networks as Record<string, { ipv4_address?: string }>;
      expect(networks.flow?.ipv4_address).toBe(announcedAddress(node));
    }
  });

  it('forms the cluster once every node is healthy', async () => {
    const { services } = await loadCompose();
    const init = services['redis-init'] as Service;
    for (const name of REDIS_NODES)
      expect(init.depends_on?.[name]).toEqual({ condition: 'service_healthy' });
    const script = unescape((init.command as string[]).join('\n'));
    const addresses = REDIS_NODES.map((n) => `${announcedAddress(services[n] as Service)}:6379`);
    expect(script).toContain(`redis-cli --cluster create ${addresses.join(' ')}`);
    expect(script).toContain('--cluster-yes');
  });

  it('runs a gateway and workers built from the Dockerfile, pointed at the cluster', async () => {
    const { services } = await loadCompose();
    const roles = await cliRoles();
    const seeds = REDIS_NODES.map((n) => `${announcedAddress(services[n] as Service)}:6379`);
    for (const name of ['gateway', 'worker']) {
      const app = services[name] as Service;
      expect(app.build, name).toBe('.');
      expect(app.command).toEqual([name]);
      expect(roles).toContain(name);
      expect(app.depends_on?.['redis-init']).toEqual({
        condition: 'service_completed_successfully',
      });
      const env = app.environment ?? {};
      for (const key of Object.keys(env)) expect(configVariables, key).toContain(key);
      expect(env.REDIS_CLUSTER_NODES).toBe(seeds.join(','));
      expect(env.USE_REDIS_WEBSOCKETS).toBe('true');
      expect(env.USE_REDIS_COLLABORATION).toBe('true');
      expect(env.USE_REDIS_EVENT_ORDERING).toBe('true');
      expect(env.NODE_ENV).toBe('production');
      // Docker waits longer than the process takes to drain and exit.
      const drainSeconds = Number(env.SHUTDOWN_DRAIN_MS ?? 5000) / 1000;
      expect(seconds(app.stop_grace_period)).toBeGreaterThan(drainSeconds + 1);
    }
    const gateway = services.gateway as Service;
    expect(gateway.ports).toEqual(['3001:3001']);
    expect(gateway.environment?.PORT).toBe('3001');
    expect(String(gateway.healthcheck?.test)).toContain('http://127.0.0.1:3001/health');
    // Every process has a metrics port of its own, and Prometheus scrapes it.
    expect(gateway.environment?.METRICS_PORT).toBe('9101');
    const worker = services.worker as Service;
    expect(worker.environment?.METRICS_PORT).toBe('9201');
    expect(String(worker.healthcheck?.test)).toContain('http://127.0.0.1:9201/health');
  });

  it('scrapes every gateway and worker replica on its METRICS_PORT, and shows the dashboard', async () => {
    const { services } = await loadCompose();
    const scrape = parse(
      await readFile(path.join(ROOT, 'monitoring', 'prometheus.yml'), 'utf8'),
    ) as {
      scrape_configs: Array<{
        job_name: string;
        dns_sd_configs: Array<{ names: string[]; port: number }>;
      }>;
    };
    const targets = scrape.scrape_configs.map((job) => ({
      job: job.job_name,
      names: job.dns_sd_configs[0]?.names,
      port: job.dns_sd_configs[0]?.port,
    }));
    expect(targets).toEqual([
      {
        job: 'flow-gateway',
        names: ['gateway'],
        port: Number(services.gateway?.environment?.METRICS_PORT),
      },
      {
        job: 'flow-worker',
        names: ['worker'],
        port: Number(services.worker?.environment?.METRICS_PORT),
      },
    ]);
    const mounts = [...(services.prometheus?.volumes ?? []), ...(services.grafana?.volumes ?? [])];
    for (const file of ['./monitoring/prometheus.yml', './grafana/flow-realtime.json'])
      expect(
        mounts.some((m) => m.startsWith(`${file}:`)),
        file,
      ).toBe(true);
  });
});

describe('Dockerfile', () => {
  async function instructions(): Promise<Array<{ op: string; args: string }>> {
    const text = await readFile(path.join(ROOT, 'Dockerfile'), 'utf8');
    return text
      .replace(/\\\n/g, ' ')
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line !== '' && !line.startsWith('#'))
      .map((line) => {
        const [op = '', ...rest] = line.split(/\s+/);
        return { op: op.toUpperCase(), args: rest.join(' ') };
      });
  }

  it('builds in one stage and runs as a non-root user on Node 20 (glibc) in another', async () => {
    const all = await instructions();
    const from = all.filter((i) => i.op === 'FROM').map((i) => i.args);
    expect(from).toEqual(['node:20-slim AS build', 'node:20-slim']);
    const runs = all.filter((i) => i.op === 'RUN').map((i) => i.args);
    expect(runs.some((r) => r.includes('npm ci'))).toBe(true);
    expect(runs.some((r) => r.includes('npm run build'))).toBe(true);
    expect(runs.some((r) => r.includes('npm prune --omit=dev'))).toBe(true);
    const user = all.filter((i) => i.op === 'USER').map((i) => i.args);
    expect(user).toHaveLength(1);
    expect(user[0]).not.toMatch(/^(root|0)(:|$)/);
    expect(all.find((i) => i.op === 'EXPOSE')?.args).toBe('3001');
  });

  it('has a HEALTHCHECK on /health and starts a CLI role', async () => {
    const all = await instructions();
    expect(all.find((i) => i.op === 'HEALTHCHECK')?.args).toContain('/health');
    expect(JSON.parse(all.find((i) => i.op === 'ENTRYPOINT')?.args ?? '')).toEqual([
      'node',
      'dist/cli.js',
    ]);
    const cmd = JSON.parse(all.find((i) => i.op === 'CMD')?.args ?? '') as string[];
    expect(cmd).toHaveLength(1);
    expect(await cliRoles()).toContain(cmd[0]);
  });

  it('keeps build output, dependencies and secrets out of the build context', async () => {
    const ignored = (await readFile(path.join(ROOT, '.dockerignore'), 'utf8')).split('\n');
    for (const entry of ['node_modules', 'dist', '.git', '.env', '.cluster'])
      expect(ignored).toContain(entry);
  });
});

describe('the compose Redis commands, run with redis-server from PATH', () => {
  const servers: ChildProcess[] = [];
  let dir: string;
  afterAll(async () => {
    for (const server of servers) server.kill('SIGKILL');
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('start a node each and form a cluster; forming again is a no-op', async () => {
    const { services } = await loadCompose();
    dir = await mkdtemp(path.join(os.tmpdir(), 'flow-compose-'));
    const local = new Map<string, number>();
    for (const name of REDIS_NODES) {
      const node = services[name] as Service;
      const port = await freePort(true);
      const ip = announcedAddress(node);
      local.set(ip, port);
      // The node's own options, with a local port, address and data dir.
      const args = String(node.command)
        .split(/\s+/)
        .slice(1)
        .join(' ')
        .replace('--port 6379', `--port ${port}`)
        .replace(`--cluster-announce-ip ${ip}`, '--cluster-announce-ip 127.0.0.1')
        .split(' ');
      const nodeDir = path.join(dir, name);
      await run('mkdir', ['-p', nodeDir]);
      const server = spawn('redis-server', [...args, '--bind', '127.0.0.1', '--dir', nodeDir], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        let output = '';
        server.stdout?.on('data', (chunk: Buffer) => {
          output += chunk.toString();
          if (output.includes('Ready to accept connections')) resolve();
        });
        server.once('exit', (code) => reject(new Error(`redis-server exited ${code}:\n${output}`)));
      });
    }
    // The init script, addresses swapped for the local ports.
    const init = services['redis-init'] as Service;
    let script = unescape((init.command as string[]).join('\n'));
    for (const [ip, port] of local) {
      script = script
        .replaceAll(`${ip}:6379`, `127.0.0.1:${port}`)
        .replaceAll(`-h ${ip} `, `-h 127.0.0.1 -p ${port} `);
    }
    const first = await run('sh', ['-c', script], { timeout: 60_000 });
    expect(first.stdout).toContain('Redis Cluster formed');
    const again = await run('sh', ['-c', script], { timeout: 60_000 });
    expect(again.stdout).toContain('Redis Cluster already formed');
    const [port] = [...local.values()];
    const info = await run('redis-cli', ['-p', String(port), 'cluster', 'info']);
    expect(info.stdout).toMatch(/cluster_known_nodes:3/);
    const aof = await run('redis-cli', ['-p', String(port), 'config', 'get', 'appendonly']);
    expect(aof.stdout).toContain('yes');
  }, 60_000);
});
