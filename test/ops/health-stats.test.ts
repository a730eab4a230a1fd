import { execFile } from 'node:child_process';
import net from 'node:net';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { startRedisCluster, useRedisServers } from '../support/redis-harness';
import { flagEnv, redisEnv } from '../support/redis-env';
import { waitFor } from '../support/scenarios';
import { randomDoc, startTestServer } from '../support/test-server';
import { TestClient } from '../support/ws-client';

/**
 * GET /health and GET /ws/stats as PROTOCOL.md section 8 says, in Redis
 * Cluster mode: cluster-wide figures from every node, and 503 naming Redis
 * when it is unreachable or the cluster is down.
 */
const servers = useRedisServers();
const run = promisify(execFile);
const ALL_REDIS = flagEnv({ websockets: true, collaboration: true, eventOrdering: true });

type Server = Awaited<ReturnType<typeof startTestServer>>;

interface Stats {
  node: string;
  role: string;
  uptimeSeconds: number;
  services: Record<string, string>;
  connections: number;
  documents: number;
  messagesIn: number;
  messagesOut: number;
  cluster: {
    nodes?: Array<{ node: string; role: string; connections: number }>;
    connections?: number;
    documentsWaitingForOrdering?: number | null;
    error?: string;
  } | null;
}

async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('/ws/stats on a Redis Cluster', () => {
  const started: Server[] = [];
  afterAll(async () => {
    await Promise.all(started.map((s) => s.close()));
  });

  it('reports this node and the whole cluster: every gateway and worker, connections, queued documents', async () => {
    const env = { ...redisEnv(servers.addresses, 'cluster'), ...ALL_REDIS };
    const a = await startTestServer({ ...env, NODE_ID: 'stats-gw-a' }, 'gateway');
    const b = await startTestServer({ ...env, NODE_ID: 'stats-gw-b' }, 'gateway');
    const worker = await startTestServer({ ...env, NODE_ID: 'stats-wk' }, 'worker');
    started.push(a, b, worker);
    const clients = [
      await TestClient.connect(a.url, 'stats-1'),
      await TestClient.connect(b.url, 'stats-2'),
      await TestClient.connect(b.url, 'stats-3'),
    ];
    const doc = randomDoc('stats');
    for (const client of clients) await client.request({ type: 'join', doc });
    await clients[0]?.request({
      type: 'op',
      doc,
      cseq: 1,
      ops: [{ op: 'set', coll: 'c', id: 'x', value: {} }],
    });

    let stats: Stats | undefined;
    await waitFor(
      async () => {
        stats = (await (await fetch(`${a.http}/ws/stats`)).json()) as Stats;
        return stats.cluster?.connections === 3 && stats.cluster.nodes?.length === 3;
      },
      10_000,
      'cluster figures from every node',
    );
    expect(stats).toMatchObject({
      node: 'stats-gw-a',
      role: 'gateway',
      services: { websockets: 'redis', collaboration: 'redis', eventOrdering: 'redis' },
      connections: 1,
      documents: 1,
    });
    expect(stats?.uptimeSeconds).toBeGreaterThanOrEqual(0);
    expect(stats?.messagesIn).toBeGreaterThanOrEqual(2);
    expect(stats?.messagesOut).toBeGreaterThanOrEqual(2);
    expect(stats?.cluster?.nodes?.map((n) => `${n.node}:${n.role}`).sort()).toEqual([
      'stats-gw-a:gateway',
      'stats-gw-b:gateway',
      'stats-wk:worker',
    ]);
    expect(stats?.cluster?.documentsWaitingForOrdering).toBe(0);
    for (const client of clients) await client.close();
  }, 30_000);
});

describe('/health on a Redis Cluster', () => {
  it('answers 503 naming Redis when no node is reachable; /ws/stats still answers', async () => {
    const nodes = [await closedPort(), await closedPort(), await closedPort()];
    const server = await startTestServer({
      REDIS_CLUSTER_NODES: nodes.map((p) => `127.0.0.1:${p}`).join(','),
      REDIS_RETRY_DELAY: '50',
      REDIS_MAX_RETRIES: '1',
      ...ALL_REDIS,
    });
    try {
      const res = await fetch(`${server.http}/health`);
      expect(res.status).toBe(503);
      const body = (await res.json()) as { status: string; checks: { redis: string } };
      expect(body.status).toBe('error');
      expect(body.checks.redis).toMatch(/Redis/);
      expect(body.checks.redis).toContain(`127.0.0.1:${nodes[0]}`);
      const stats = await fetch(`${server.http}/ws/stats`);
      expect(stats.status).toBe(200);
      expect(((await stats.json()) as Stats).cluster?.error).toMatch(/unavailable/);
    } finally {
      await server.close();
    }
  }, 30_000);

  it('answers 503 naming the cluster state when a master is down (CLUSTERDOWN), although the other nodes answer PING', async () => {
    const cluster = await startRedisCluster();
    let server: Server | undefined;
    try {
      server = await startTestServer({
        REDIS_CLUSTER_NODES: cluster.nodes.map((n) => `${n.host}:${n.port}`).join(','),
        REDIS_RETRY_DELAY: '50',
        ...ALL_REDIS,
      });
      expect((await fetch(`${server.http}/health`)).status).toBe(200);
      const victim = cluster.nodes[1] as { port: number };
      await run('redis-cli', ['-p', String(victim.port), 'shutdown', 'nosave']).catch(
        () => undefined,
      );
      const http = server.http;
      let body: { checks?: { redis?: string } } = {};
      await waitFor(
        async () => {
          const res = await fetch(`${http}/health`);
          body = (await res.json()) as typeof body;
          return res.status === 503 && /cluster_state:fail/.test(body.checks?.redis ?? '');
        },
        20_000,
        '503 with cluster_state:fail',
      );
      expect(body.checks?.redis).toMatch(/CLUSTERDOWN/);
    } finally {
      await server?.close();
      await cluster.stop();
    }
  }, 60_000);
});
