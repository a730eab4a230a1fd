import { describe, expect, it } from 'vitest';
import type { DocumentEvents } from '../../src/client';
import { joinedClient, startServer } from './helpers';

describe('a document that cannot be joined again', () => {
  it('is reported as stalled past the threshold, and resyncs when the server takes it', async () => {
    const server = await startServer();
    const { connection, handle } = await joinedClient(server, {}, { stallAfterMs: 150 });
    const stalls: Array<DocumentEvents['stalled']> = [];
    handle.on('stalled', (stall) => stalls.push(stall));
    connection.terminate();
    const second = await server.nextConnection();
    // Refuse the re-joins for longer than the threshold.
    const refuseUntil = Date.now() + 400;
    let join = await second.next('join');
    while (Date.now() < refuseUntil) {
      second.send({
        type: 'error',
        code: 'UNAVAILABLE',
        message: 'pub/sub is not connected; retry the join',
        doc: 'doc-1',
        ref: join.ref,
      });
      join = await second.next('join');
    }
    expect(stalls).toHaveLength(1);
    expect(stalls[0]).toMatchObject({ doc: 'doc-1', error: { code: 'UNAVAILABLE' } });
    expect(stalls[0]?.forMs).toBeGreaterThanOrEqual(150);
    expect(handle.stalled).toBe(true);
    const resynced = new Promise((resolve) => handle.once('resync', resolve));
    second.joinedSnapshot(join, { epoch: 'e1', seq: 0, state: {} });
    await resynced;
    expect(handle.stalled).toBe(false);
    expect(handle.joined).toBe(true);
  });

  it('is not reported when the re-join succeeds within the threshold', async () => {
    const server = await startServer();
    const { connection, handle } = await joinedClient(server, {}, { stallAfterMs: 300 });
    let stalled = false;
    handle.on('stalled', () => (stalled = true));
    connection.terminate();
    const second = await server.nextConnection();
    second.joinedSnapshot(await second.next('join'), { epoch: 'e1', seq: 0, state: {} });
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(stalled).toBe(false);
    expect(handle.joined).toBe(true);
  });
});
