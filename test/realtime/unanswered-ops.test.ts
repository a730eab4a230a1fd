import { afterEach, describe, expect, it, vi } from 'vitest';
import type { EventOrderingService } from '../../src/services/event-ordering/event-ordering-service';
import { startHub } from './hub-harness';

describe('a document whose op stays unanswered', () => {
  let close: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await close?.();
  });

  it('reads its history ever more rarely while the op waits in its queue, not every second', async () => {
    // Accepts every op and applies none: a queue that is behind.
    const behind: EventOrderingService = {
      mode: 'redis',
      submit: () => Promise.resolve(),
      close: () => Promise.resolve(),
    };
    const gateway = startHub({}, () => behind);
    close = gateway.close;
    const client = gateway.connect('c1');
    expect(await client.request({ type: 'join', doc: 'q1' })).toMatchObject({ type: 'joined' });
    const reads = vi.spyOn(gateway.collaboration, 'eventsAfter');
    client.send({
      type: 'op',
      doc: 'q1',
      cseq: 1,
      ops: [{ op: 'set', coll: 'nodes', id: 'n1', value: {} }],
    });
    await new Promise((resolve) => setTimeout(resolve, 6500));
    // Once about 1.5 s after the op (for a lost broadcast), again some 3 s
    // later; one read per second after the first would make 5.
    expect(reads.mock.calls.length).toBeGreaterThanOrEqual(1);
    expect(reads.mock.calls.length).toBeLessThanOrEqual(2);
  });
});
