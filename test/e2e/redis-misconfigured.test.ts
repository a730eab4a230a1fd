import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configFrom } from '../../src/config';
import { startFlow } from '../../src/app/flow-process';
import { StartupError } from '../../src/config/startup-error';
import { flagEnv } from '../support/redis-env';
import { startRedis } from '../support/redis-harness';
import { captureLog, waitForLine } from '../support/redis-log-capture';
import type { StartedRedis } from '../support/redis-types';
import { randomDoc, startTestServer } from '../support/test-server';

/**
 * A wrong setting or a broken Redis gets the answer that names it: a Cluster
 * node behind single-Redis settings is refused at start, a refused password
 * is named by /health, and while Redis is away the HTTP routes answer at once
 * with "unavailable" rather than INTERNAL or silence.
 */
const ALL_REDIS = flagEnv({ websockets: true, collaboration: true, eventOrdering: true });

async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('single-Redis settings pointed at a Redis Cluster node', () => {
  let node: StartedRedis;
  beforeAll(async () => {
    node = await startRedis(['--cluster-enabled', 'yes']);
  }, 60_000);
  afterAll(async () => {
    await node?.stop();
  });

  it('refuses to start, naming the node and REDIS_CLUSTER_NODES', async () => {
    const config = configFrom({
      HOST: '127.0.0.1',
      PORT: '0',
      LOG_LEVEL: 'silent',
      REDIS_HOST: node.host,
      REDIS_PORT: String(node.port),
      ...ALL_REDIS,
    });
    const started = startFlow(config, 'gateway', { log: captureLog('silent').log });
    await expect(started).rejects.toBeInstanceOf(StartupError);
    await expect(started).rejects.toThrow(
      `${node.host}:${node.port} is a Redis Cluster node: set REDIS_CLUSTER_NODES`,
    );
  }, 20_000);
});

describe('a Redis that refuses the password', () => {
  let redis: StartedRedis;
  beforeAll(async () => {
    redis = await startRedis(['--requirepass', 'the-right-one']);
  }, 60_000);
  afterAll(async () => {
    await redis?.stop();
  });

  it('is named by /health, not reported as silence', async () => {
    const server = await startTestServer({
      REDIS_HOST: redis.host,
      REDIS_PORT: String(redis.port),
      REDIS_PASSWORD: 'a-wrong-one',
      REDIS_RETRY_DELAY: '50',
      ...ALL_REDIS,
    });
    try {
      const res = await fetch(`${server.http}/health`);
      expect(res.status).toBe(503);
      const body = (await res.json()) as { checks: { redis: string } };
      expect(body.checks.redis).toContain('Redis rejected the password');
      expect(body.checks.redis).toContain('REDIS_PASSWORD');
      expect(body.checks.redis).not.toContain('a-wrong-one');
    } finally {
      await server.close();
    }
  }, 30_000);
});

describe('Redis down', () => {
  let server: Awaited<ReturnType<typeof startTestServer>>;
  beforeAll(async () => {
    server = await startTestServer({
      REDIS_HOST: '127.0.0.1',
      REDIS_PORT: String(await closedPort()),
      ...ALL_REDIS,
    });
  }, 30_000);
  afterAll(async () => {
    await server?.close();
  });

  it('GET /docs/:doc answers 503 UNAVAILABLE', async () => {
    const res = await fetch(`${server.http}/docs/${randomDoc()}`);
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ error: 'UNAVAILABLE' });
  }, 30_000);

  it('/ws/stats answers with the local figures and the cluster-wide ones marked unavailable', async () => {
    const res = await fetch(`${server.http}/ws/stats`);
    expect(res.status).toBe(200);
    const stats = (await res.json()) as { connections: number; cluster: Record<string, unknown> };
    expect(stats.connections).toBe(0);
    expect(stats.cluster).toMatchObject({ unavailable: true });
    expect(String(stats.cluster.error)).toContain('cluster figures unavailable');
  }, 30_000);

  it('a worker says it waits for Redis, and not that it started', async () => {
    const { log, lines } = captureLog('info');
    const config = configFrom({
      LOG_LEVEL: 'info',
      REDIS_HOST: '127.0.0.1',
      REDIS_PORT: String(await closedPort()),
      ...ALL_REDIS,
    });
    const worker = await startFlow(config, 'worker', { log });
    try {
      await waitForLine(lines, 'ordering worker waiting for Redis');
      expect(lines.map((l) => l.msg)).not.toContain('ordering worker started');
    } finally {
      await worker.close();
    }
  }, 30_000);
});
