import http from 'node:http';
import { describe, expect, it } from 'vitest';
import { StartupError } from '../../src/config/startup-error';
import { flagEnv, redisEnv } from '../support/redis-env';
import { randomKeyPrefix, useRedisServers } from '../support/redis-harness';
import { freePort } from '../support/restartable-redis';
import { startTestServer } from '../support/test-server';

/**
 * Every process, workers included, serves /metrics and /health on a port of
 * its own, METRICS_PORT plus its pm2 instance number, so that Prometheus
 * scrapes each process (gateways that share PORT are reached at random there).
 */
const servers = useRedisServers();
const ALL_REDIS = flagEnv({ websockets: true, collaboration: true, eventOrdering: true });

async function get(port: number, path: string): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: res.status, body: await res.text() };
}

describe('METRICS_PORT', () => {
  it('a gateway serves /metrics and /health on METRICS_PORT + NODE_APP_INSTANCE', async () => {
    const port = await freePort();
    const server = await startTestServer({
      METRICS_PORT: String(port - 1),
      NODE_APP_INSTANCE: '1',
    });
    try {
      const metrics = await get(port, '/metrics');
      expect(metrics.status).toBe(200);
      expect(metrics.body).toContain('flow_connections');
      const health = await get(port, '/health');
      expect(health.status).toBe(200);
      expect(JSON.parse(health.body)).toMatchObject({ status: 'ok', role: 'all' });
      // The shared port still serves them too.
      expect((await fetch(`${server.http}/metrics`)).status).toBe(200);
    } finally {
      await server.close();
    }
    // Closed with the process.
    await expect(fetch(`http://127.0.0.1:${port}/metrics`)).rejects.toThrow();
  }, 30_000);

  it('a worker serves them too: its ordering metrics and Redis in /health', async () => {
    const port = await freePort();
    const worker = await startTestServer(
      {
        ...redisEnv(servers.addresses, 'single'),
        ...ALL_REDIS,
        REDIS_KEY_PREFIX: randomKeyPrefix(),
        METRICS_PORT: String(port),
      },
      'worker',
    );
    try {
      const metrics = await get(port, '/metrics');
      expect(metrics.status).toBe(200);
      expect(metrics.body).toContain('flow_ops_applied_total');
      const health = await get(port, '/health');
      expect(health.status).toBe(200);
      expect(JSON.parse(health.body)).toMatchObject({
        status: 'ok',
        role: 'worker',
        checks: { redis: 'ok' },
      });
      expect((await get(port, '/ws/stats')).status).toBe(404);
    } finally {
      await worker.close();
    }
  }, 30_000);

  it('an idle worker answers /health too', async () => {
    const port = await freePort();
    const worker = await startTestServer({ METRICS_PORT: String(port) }, 'worker');
    try {
      expect((await get(port, '/health')).status).toBe(200);
    } finally {
      await worker.close();
    }
  }, 30_000);

  it('a metrics port that is taken stops the process, naming METRICS_PORT', async () => {
    const other = http.createServer();
    const port = await freePort();
    await new Promise<void>((resolve) => other.listen(port, '127.0.0.1', resolve));
    try {
      const started = startTestServer({ METRICS_PORT: String(port) });
      await expect(started).rejects.toBeInstanceOf(StartupError);
      await expect(started).rejects.toThrow(/METRICS_PORT/);
    } finally {
      other.close();
    }
  }, 30_000);
});
