import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer } from '../support/test-server';

/** A browser or curl that opens /ws over plain HTTP learns what the URL is for. */
describe('GET /ws without a WebSocket upgrade', () => {
  let server: Awaited<ReturnType<typeof startTestServer>>;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server?.close();
  });

  it('answers 426 Upgrade Required, saying to connect with a WebSocket client', async () => {
    const res = await fetch(`${server.http}/ws`);
    expect(res.status).toBe(426);
    const body = (await res.json()) as { error: string; message: string };
    expect(body.error).toBe('BAD_REQUEST');
    expect(body.message).toContain('WebSocket endpoint');
    expect(body.message).not.toContain('no route');
  });

  it('other unknown paths still answer 404 naming the routes', async () => {
    const res = await fetch(`${server.http}/nowhere`);
    expect(res.status).toBe(404);
    expect(((await res.json()) as { message: string }).message).toContain('no route /nowhere');
  });
});
