import { afterEach, describe, expect, it } from 'vitest';
import { startHub } from './hub-harness';

const op = (doc: string, cseq: number) => ({
  type: 'op' as const,
  doc,
  cseq,
  ops: [{ op: 'set' as const, coll: 'nodes' as const, id: `n${cseq}`, value: {} }],
});

describe('a stopping gateway', () => {
  let close: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await close?.();
    close = undefined;
  });

  it('closes its clients in groups spread over the given time, serving the rest meanwhile', async () => {
    const gateway = startHub();
    close = gateway.close;
    const clients = Array.from({ length: 20 }, (_, i) => gateway.connect(`c${i}`));
    for (const client of clients) {
      expect(await client.request({ type: 'join', doc: 'spread' })).toMatchObject({
        type: 'joined',
      });
    }
    const started = performance.now();
    const stopped = gateway.hub.close(1001, 'gateway shutting down; reconnect', 400);
    // Not everyone at once: most clients are still open right after the call...
    const openAtFirst = clients.filter((c) => !c.socket.closed);
    expect(openAtFirst.length).toBeGreaterThanOrEqual(15);
    // ...and one of them still gets its op applied and acknowledged.
    const last = openAtFirst[openAtFirst.length - 1];
    if (!last) throw new Error('no client left open');
    const ack = await last.request(op('spread', 1));
    expect(ack).toMatchObject({ type: 'ack', seq: 1 });
    await stopped;
    expect(clients.every((c) => c.socket.closed)).toBe(true);
    const times = clients.map((c) => (c.socket.closedAt ?? Infinity) - started);
    // The last group goes at 9/10 of the spread, none after it ended.
    expect(Math.max(...times)).toBeGreaterThanOrEqual(300);
    expect(Math.max(...times)).toBeLessThan(600);
    // A second call while closing is the same close.
    await gateway.hub.close(1001, 'again', 400);
  });

  it('closes every client at once when the spread is 0', async () => {
    const gateway = startHub();
    close = gateway.close;
    const clients = Array.from({ length: 5 }, (_, i) => gateway.connect(`z${i}`));
    const stopped = gateway.hub.close(1001, 'gateway shutting down; reconnect', 0);
    expect(clients.every((c) => c.socket.closed)).toBe(true);
    await stopped;
  });

  it('reads the spread from SHUTDOWN_CLOSE_SPREAD_MS, 500 ms unless set', async () => {
    const { configFrom } = await import('../../src/config');
    expect(configFrom({}).shutdown.closeSpreadMs).toBe(500);
    expect(configFrom({ SHUTDOWN_CLOSE_SPREAD_MS: '0' }).shutdown.closeSpreadMs).toBe(0);
    expect(() => configFrom({ SHUTDOWN_CLOSE_SPREAD_MS: 'soon' })).toThrow(
      /SHUTDOWN_CLOSE_SPREAD_MS/,
    );
  });
});
