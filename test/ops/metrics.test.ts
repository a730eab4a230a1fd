import { readFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Metrics } from '../../src/observability/metrics';
import { createRedis, type RedisClient } from '../../src/redis/connection';
import {
  redisTestConfig,
  startRedis,
  useRedisServers,
  type StartedRedis,
} from '../support/redis-harness';
import { flagEnv, redisEnv } from '../support/redis-env';
import { waitFor } from '../support/scenarios';
import { randomDoc, startTestServer } from '../support/test-server';
import { TestClient } from '../support/ws-client';

/**
 * /metrics has what operators watch, the Grafana dashboard queries only
 * metrics that exist, and the Redis and ordering metrics are fed.
 */
const ROOT = path.resolve(__dirname, '../..');
const servers = useRedisServers();
const quiet = pino({ level: 'silent' });

/** Labels that Prometheus adds when it scrapes; not in the exposition. */
const TARGET_LABELS = new Set(['instance', 'job']);

interface Family {
  type: string;
  /** Sample lines: name{labels} value. */
  samples: Array<{ name: string; labels: Record<string, string>; value: number }>;
}

function parseExposition(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) {
      families.set(type[1] as string, { type: type[2] as string, samples: [] });
      continue;
    }
    const sample = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!sample) continue;
    const name = sample[1] as string;
    const base = families.has(name) ? name : name.replace(/_(bucket|sum|count)$/, '');
    const labels: Record<string, string> = {};
    for (const [, key, value] of (sample[2] ?? '').matchAll(/(\w+)="([^"]*)"/g))
      labels[key as string] = value as string;
    families.get(base)?.samples.push({ name, labels, value: Number(sample[3]) });
  }
  return families;
}

async function scrape(http: string): Promise<Map<string, Family>> {
  const res = await fetch(`${http}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toContain('text/plain');
  return parseExposition(await res.text());
}

function gauge(families: Map<string, Family>, name: string): number {
  const value = families.get(name)?.samples[0]?.value;
  if (value === undefined) throw new Error(`no sample of ${name}`);
  return value;
}

/** Every metric a dashboard expression names, with the labels it uses on it. */
function queriedMetrics(expr: string): Map<string, Set<string>> {
  const found = new Map<string, Set<string>>();
  const grouping = [...expr.matchAll(/\bby \(([^)]*)\)/g)].flatMap(([, list]) =>
    (list as string).split(',').map((l) => l.trim()),
  );
  for (const [, name, matchers] of expr.matchAll(
    /\b((?:flow|process|nodejs)_\w+)(?:\{([^}]*)\})?/g,
  )) {
    const labels = found.get(name as string) ?? new Set<string>();
    for (const [, label] of (matchers ?? '').matchAll(/(\w+)\s*=~?/g)) labels.add(label as string);
    for (const label of grouping) labels.add(label);
    found.set(name as string, labels);
  }
  return found;
}

describe('/metrics and the Grafana dashboard', () => {
  let server: Awaited<ReturnType<typeof startTestServer>>;

  beforeAll(async () => {
    server = await startTestServer({
      ...redisEnv(servers.addresses, 'cluster'),
      ...flagEnv({ websockets: true, collaboration: true, eventOrdering: true }),
    });
    // Some traffic, so that labelled series exist.
    const client = await TestClient.connect(server.url, 'metrics-client');
    const doc = randomDoc('metrics');
    await client.request({ type: 'join', doc });
    for (let cseq = 1; cseq <= 3; cseq++) {
      await client.request({
        type: 'op',
        doc,
        cseq,
        ops: [{ op: 'set', coll: 'c', id: 'x', value: { cseq } }],
      });
    }
    await client.close();
  });
  afterAll(async () => {
    await server?.close();
  });

  it('has every figure operators watch', async () => {
    const families = await scrape(server.http);
    const expected: Record<string, string> = {
      flow_connections: 'gauge',
      flow_documents_open: 'gauge',
      flow_messages_in_total: 'counter',
      flow_messages_out_total: 'counter',
      flow_events_delivered_total: 'counter',
      flow_ops_applied_total: 'counter',
      flow_errors_total: 'counter',
      flow_ack_latency_seconds: 'histogram',
      flow_ordering_queue_depth: 'gauge',
      flow_ordering_documents_waiting: 'gauge',
      flow_ordering_oldest_wait_seconds: 'gauge',
      flow_ordering_lag_seconds: 'histogram',
      flow_feed_gaps_total: 'counter',
      flow_feed_recoveries_total: 'counter',
      flow_slow_consumer_closes_total: 'counter',
      flow_redis_errors_total: 'counter',
      flow_redis_slow_commands_total: 'counter',
    };
    for (const [name, type] of Object.entries(expected))
      expect(families.get(name)?.type, name).toBe(type);
    const opsIn = families
      .get('flow_messages_in_total')
      ?.samples.find((s) => s.labels.type === 'op')?.value;
    expect(opsIn).toBe(3);
    const acked = families
      .get('flow_ack_latency_seconds')
      ?.samples.find((s) => s.name === 'flow_ack_latency_seconds_count')?.value;
    expect(acked).toBe(3);
  });

  it('the dashboard queries only metrics and labels that exist', async () => {
    const dashboard = JSON.parse(
      await readFile(path.join(ROOT, 'grafana', 'flow-realtime.json'), 'utf8'),
    ) as { panels: Array<{ title: string; targets?: Array<{ expr: string }> }> };
    const families = await scrape(server.http);
    const labelsOf = (name: string) => {
      // prom-client keeps a metric's label names on the metric object.
      const metric = server.metrics.registry.getSingleMetric(name) as { labelNames?: string[] };
      return new Set(metric?.labelNames ?? []);
    };
    const queried = new Set<string>();
    for (const panel of dashboard.panels) {
      for (const target of panel.targets ?? []) {
        for (const [name, labels] of queriedMetrics(target.expr)) {
          const family = name.replace(/_(bucket|sum|count)$/, '');
          const known = families.has(name) ? name : family;
          expect(families.has(known), `${panel.title}: ${name}`).toBe(true);
          if (name !== known) expect(families.get(known)?.type, name).toBe('histogram');
          queried.add(known);
          for (const label of labels) {
            if (TARGET_LABELS.has(label) || label === 'le') continue;
            expect(labelsOf(known), `${panel.title}: ${name} by ${label}`).toContain(label);
          }
        }
      }
    }
    // Every flow_ metric has a panel.
    const flowFamilies = [...families.keys()].filter((n) => n.startsWith('flow_'));
    expect(flowFamilies.filter((n) => !queried.has(n))).toEqual([]);
  });

  it('p50 and p99 of ack latency are histogram_quantile over rate()', async () => {
    const text = await readFile(path.join(ROOT, 'grafana', 'flow-realtime.json'), 'utf8');
    for (const q of ['0.5', '0.99']) {
      expect(text).toContain(
        `histogram_quantile(${q}, sum by (le) (rate(flow_ack_latency_seconds_bucket{`,
      );
    }
  });
});

describe('Redis metrics', () => {
  let redis: StartedRedis;
  const clients: RedisClient[] = [];
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    for (const client of clients) client.disconnect();
    await redis?.stop();
  });

  const connect = (metrics: Metrics, vars: Record<string, string> = {}, target = redis) => {
    const config = redisTestConfig(target, { REDIS_MAX_RETRIES: '1', ...vars });
    const client = createRedis(config, quiet, 'metrics-test', { metrics });
    clients.push(client);
    return client;
  };
  const count = async (metrics: Metrics, name: string) =>
    (await metrics.registry.getSingleMetric(name)?.get())?.values ?? [];

  it('counts a command slower than REDIS_SLOW_COMMAND_MS, by command', async () => {
    const metrics = new Metrics(false);
    const client = connect(metrics, { REDIS_SLOW_COMMAND_MS: '20' });
    // Timed only once connected: a command waiting for the connection is not slow Redis.
    await client.ping();
    // A script that keeps Redis busy for a while.
    await client.eval('local i = 0 while i < 20000000 do i = i + 1 end return i', 0);
    await client.ping();
    const values = await count(metrics, 'flow_redis_slow_commands_total');
    expect(values).toEqual([expect.objectContaining({ labels: { command: 'eval' }, value: 1 })]);
  });

  it('counts failed commands by kind: an error reply, and out of memory', async () => {
    const own = await startRedis();
    try {
      const metrics = new Metrics(false);
      const client = connect(metrics, {}, own);
      await expect(client.call('NO-SUCH-COMMAND')).rejects.toThrow();
      await client.config('SET', 'maxmemory', '1');
      await expect(client.set('k', 'v')).rejects.toThrow(/OOM/);
      await client.config('SET', 'maxmemory', '0');
      const values = await count(metrics, 'flow_redis_errors_total');
      expect(values).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ labels: { source: 'command', kind: 'reply' }, value: 1 }),
          expect.objectContaining({
            labels: { source: 'command', kind: 'out-of-memory' },
            value: 1,
          }),
        ]),
      );
    } finally {
      await own.stop();
    }
  });

  it('counts connection errors while Redis is not reachable', async () => {
    const probe = net.createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const { port } = probe.address() as net.AddressInfo;
    await new Promise((resolve) => probe.close(resolve));
    const metrics = new Metrics(false);
    const closed = { host: '127.0.0.1', port, stop: async () => undefined };
    const client = connect(metrics, { REDIS_RETRY_DELAY: '20' }, closed);
    await client.get('k').catch(() => undefined);
    const values = await count(metrics, 'flow_redis_errors_total');
    const refused = values.find(
      (v) => v.labels.source === 'connection' && v.labels.kind === 'unreachable',
    );
    expect(refused?.value).toBeGreaterThanOrEqual(1);
    expect(values.find((v) => v.labels.source === 'command')?.labels.kind).toBe('unreachable');
  });
});

describe('ordering gauges (Redis ordering, cluster)', () => {
  it('show a document waiting while no worker runs, and its age; zero once a worker took it', async () => {
    const env = {
      ...redisEnv(servers.addresses, 'cluster'),
      ...flagEnv({ websockets: true, collaboration: true, eventOrdering: true }),
    };
    const gateway = await startTestServer(env, 'gateway');
    let worker: Awaited<ReturnType<typeof startTestServer>> | undefined;
    try {
      const client = await TestClient.connect(gateway.url, 'gauge-client');
      const doc = randomDoc('gauges');
      await client.request({ type: 'join', doc });
      client.send({
        type: 'op',
        doc,
        cseq: 1,
        ops: [{ op: 'set', coll: 'c', id: 'x', value: {} }],
      });
      await waitFor(
        async () => gauge(await scrape(gateway.http), 'flow_ordering_documents_waiting') === 1,
        5000,
        'one document waiting',
      );
      await waitFor(
        async () => gauge(await scrape(gateway.http), 'flow_ordering_oldest_wait_seconds') > 0.2,
        5000,
        'its wait growing',
      );
      worker = await startTestServer(env, 'worker');
      await client.next((m) => m.type === 'ack', 10_000);
      await waitFor(
        async () => {
          const families = await scrape(gateway.http);
          return (
            gauge(families, 'flow_ordering_documents_waiting') === 0 &&
            gauge(families, 'flow_ordering_oldest_wait_seconds') === 0 &&
            gauge(families, 'flow_ordering_queue_depth') === 0
          );
        },
        5000,
        'nothing waiting',
      );
      await client.close();
    } finally {
      await worker?.close();
      await gateway.close();
    }
  }, 30_000);

  it('in-memory ordering reports its depth and nothing cluster-wide', async () => {
    const server = await startTestServer();
    try {
      const families = await scrape(server.http);
      expect(gauge(families, 'flow_ordering_queue_depth')).toBe(0);
      expect(families.get('flow_ordering_documents_waiting')?.samples[0]?.value ?? 0).toBe(0);
    } finally {
      await server.close();
    }
  });
});
