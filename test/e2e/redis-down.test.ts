import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { flagEnv } from '../support/redis-env';
import { freePort } from '../support/restartable-redis';
import { startFlowChild, type FlowChild } from '../support/flow-processes';
import { randomDoc } from '../support/test-server';
import { TestClient } from '../support/ws-client';
import { waitFor } from '../support/scenarios';

/**
 * Redis is not running when the process starts: it starts anyway, says in
 * its log that Redis is not reachable and how to start it, answers /health
 * with 503 naming Redis, and refuses requests with UNAVAILABLE instead of
 * hanging.
 */
describe('Redis down at start', () => {
  let flow: FlowChild;
  let port: number;

  beforeAll(async () => {
    port = await freePort();
    flow = await startFlowChild('all', {
      REDIS_HOST: '127.0.0.1',
      REDIS_PORT: String(port),
      REDIS_RETRY_DELAY: '100',
      ...flagEnv({ websockets: true, collaboration: true, eventOrdering: true }),
    });
  }, 30_000);
  afterAll(async () => {
    await flow?.kill('SIGTERM');
  });

  it('logs that Redis is not reachable, with the address and how to start it', async () => {
    await waitFor(
      () => flow.lines.some((l) => l.includes('Redis is not reachable')),
      5000,
      'the not-reachable line',
    );
    const line = flow.lines.find((l) => l.includes('Redis is not reachable'));
    expect(line).toBeDefined();
    expect(line).toContain(`127.0.0.1:${port}`);
    expect(line).toContain('redis-server');
  });

  it('answers /health with 503 naming Redis', async () => {
    const res = await fetch(`${flow.http}/health`);
    expect(res.status).toBe(503);
    const body = (await res.json()) as { status: string; checks: { redis: string } };
    expect(body.status).toBe('error');
    expect(body.checks.redis).toMatch(/Redis/);
  });

  it('answers a join with UNAVAILABLE, not a hang, and keeps the connection', async () => {
    const client = await TestClient.connect(flow.url);
    const started = Date.now();
    const reply = await client.request({ type: 'join', doc: randomDoc() });
    expect(reply).toMatchObject({ type: 'error', code: 'UNAVAILABLE' });
    expect(Date.now() - started).toBeLessThan(8000);
    expect(await client.request({ type: 'ping' })).toMatchObject({ type: 'pong' });
    await client.close();
  }, 15_000);

  it('stops cleanly on SIGTERM', async () => {
    const code = await flow.kill('SIGTERM');
    if (code !== 0) console.error(flow.lines.slice(-15).join('\n'));
    expect(code).toBe(0);
  }, 15_000);
});
