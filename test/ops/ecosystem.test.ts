import { createRequire } from 'node:module';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { configFrom, describeConfig } from '../../src/config';

/**
 * ecosystem.config.js, evaluated as pm2 evaluates it (a CommonJS module read
 * in the environment of `pm2 start`), for each stage of the migration.
 */
const ROOT = path.resolve(__dirname, '../..');
const FILE = path.join(ROOT, 'ecosystem.config.js');
const load = createRequire(FILE);

interface App {
  name: string;
  script: string;
  args: string;
  exec_mode: string;
  instances: number;
  namespace: string;
  wait_ready: boolean;
  listen_timeout: number;
  kill_timeout: number;
  merge_logs: boolean;
  time: boolean;
  env: Record<string, string>;
}

/** The apps with `vars` set in the environment (and the variables the file reads unset otherwise). */
function apps(vars: Record<string, string> = {}): App[] {
  const read = [
    'PORT',
    'NODE_ENV',
    'REDIS_CLUSTER_NODES',
    'USE_REDIS_WEBSOCKETS',
    'USE_REDIS_COLLABORATION',
    'USE_REDIS_EVENT_ORDERING',
    'SHUTDOWN_DRAIN_MS',
    'GATEWAY_INSTANCES',
    'WORKER_INSTANCES',
    'METRICS_PORT',
  ];
  const saved = Object.fromEntries(read.map((name) => [name, process.env[name]]));
  try {
    for (const name of read) delete process.env[name];
    Object.assign(process.env, vars);
    delete load.cache[FILE];
    return (load(FILE) as { apps: App[] }).apps;
  } finally {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    delete load.cache[FILE];
  }
}

const configVariables = new Set(describeConfig(configFrom({})).map((entry) => entry.env));

describe('ecosystem.config.js', () => {
  it('runs 2 gateways on port 3001 and 2 workers against the local cluster by default', () => {
    const [gateway, worker, ...rest] = apps();
    expect(rest).toEqual([]);
    expect(gateway).toMatchObject({ name: 'gateway', args: 'gateway', instances: 2 });
    expect(worker).toMatchObject({ name: 'worker', args: 'worker', instances: 2 });
    for (const app of [gateway, worker] as App[]) {
      expect(app).toMatchObject({
        script: path.join(ROOT, 'dist', 'cli.js'),
        exec_mode: 'fork',
        namespace: 'backend',
        wait_ready: true,
        merge_logs: true,
        time: false,
      });
      expect(app.listen_timeout).toBeGreaterThanOrEqual(10_000);
      expect(app.env).toEqual({
        METRICS_PORT: app.name === 'gateway' ? '9101' : '9201',
        NODE_ENV: 'production',
        PORT: '3001',
        REDIS_CLUSTER_NODES: '127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003',
        USE_REDIS_WEBSOCKETS: 'true',
        USE_REDIS_COLLABORATION: 'true',
        USE_REDIS_EVENT_ORDERING: 'true',
        SHUTDOWN_DRAIN_MS: '5000',
      });
      for (const name of Object.keys(app.env)) expect(configVariables, name).toContain(name);
      // A static file cannot name each instance: the default hostname-pid stands.
      expect(app.env).not.toHaveProperty('NODE_ID');
    }
  });

  it('gives every process a metrics port of its own: gateways from METRICS_PORT, workers 100 above', () => {
    const [gateway, worker] = apps({ METRICS_PORT: '9300' });
    expect(gateway?.env.METRICS_PORT).toBe('9300');
    expect(worker?.env.METRICS_PORT).toBe('9400');
  });

  it('gives pm2 more time than a process takes to drain and exit', () => {
    for (const drain of ['5000', '12000']) {
      for (const app of apps({ SHUTDOWN_DRAIN_MS: drain })) {
        expect(app.env.SHUTDOWN_DRAIN_MS).toBe(drain);
        // The process exits by itself within SHUTDOWN_DRAIN_MS + 1 s (src/cli.ts).
        expect(app.kill_timeout).toBeGreaterThan(Number(drain) + 1000);
      }
    }
  });

  it('takes the Redis address, port, flags and instance counts from the environment', () => {
    const [gateway, worker] = apps({
      REDIS_CLUSTER_NODES: '10.0.0.1:6379',
      PORT: '4000',
      GATEWAY_INSTANCES: '4',
      WORKER_INSTANCES: '3',
    });
    expect(gateway?.instances).toBe(4);
    expect(worker?.instances).toBe(3);
    expect(gateway?.env).toMatchObject({ REDIS_CLUSTER_NODES: '10.0.0.1:6379', PORT: '4000' });
    expect(() => apps({ GATEWAY_INSTANCES: 'two' })).toThrow(/GATEWAY_INSTANCES/);
  });

  it('refuses what the server refuses, with the variable named (one validation, dist/config)', () => {
    expect(() => apps({ USE_REDIS_WEBSOCKETS: 'ture' })).toThrow(
      /USE_REDIS_WEBSOCKETS: must be true or false/,
    );
    expect(() => apps({ USE_REDIS_EVENT_ORDERING: 'yes' })).toThrow(/USE_REDIS_EVENT_ORDERING/);
    expect(() => apps({ PORT: 'http' })).toThrow(/PORT/);
    expect(() => apps({ USE_REDIS_WEBSOCKETS: '0' })).not.toThrow();
  });

  it('follows the migration stages: a process count each stage can run', () => {
    const stage = (collaboration: boolean, websockets: boolean, ordering: boolean) =>
      apps({
        USE_REDIS_COLLABORATION: String(collaboration),
        USE_REDIS_WEBSOCKETS: String(websockets),
        USE_REDIS_EVENT_ORDERING: String(ordering),
      }).map((app) => `${app.name}:${app.args}x${app.instances}`);
    // Preparation and testing: one process, as a service in memory serves one process only.
    expect(stage(false, false, false)).toEqual(['gateway:allx1']);
    expect(stage(true, false, false)).toEqual(['gateway:allx1']);
    // Partial: gateways share documents through Redis, each ordering in-process.
    expect(stage(true, true, false)).toEqual(['gateway:gatewayx2']);
    // Full: gateways and workers.
    expect(stage(true, true, true)).toEqual(['gateway:gatewayx2', 'worker:workerx2']);
    // Ordering without the other two cannot be split into roles.
    expect(stage(false, false, true)).toEqual(['gateway:allx1']);
  });
});
