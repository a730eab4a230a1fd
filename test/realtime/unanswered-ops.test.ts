import { afterEach, describe, expect, it, vi } from 'vitest';
import type { EventOrderingService } from '../../src/services/event-ordering/event-ordering-service';
import type { ClientMessage } from '../../src/protocol';
import { MemoryEventOrderingService } from '../../src/services/event-ordering/event-ordering.memory';
import { startHub } from './hub-harness';

/** An edit of node `id`, as a client sends it. */
const op = (doc: string, cseq: number, id: string): ClientMessage => ({
  type: 'op',
  doc,
  cseq,
  ops: [{ op: 'set', coll: 'nodes', id, value: {} }],
});

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

  it('waits longer before reading it while every op waits seconds for its answer (a queue behind)', async () => {
    // Applies every op 3 s after accepting it: a queue that is behind, not a lost broadcast.
    const gateway = startHub({}, (processor) => {
      const applies = new MemoryEventOrderingService(processor, 100, () => {});
      return {
        mode: 'redis',
        submit: (submission) => {
          setTimeout(() => void applies.submit(submission).catch(() => undefined), 3000);
          return Promise.resolve();
        },
        close: () => applies.close(),
      };
    });
    close = gateway.close;
    const client = gateway.connect('c1');
    expect(await client.request({ type: 'join', doc: 'q2' })).toMatchObject({ type: 'joined' });
    expect(await client.request(op('q2', 1, 'n1'))).toMatchObject({ type: 'ack', cseq: 1 });
    // This gateway's answers now take about 3 s: the next op is not suspect at 1.5 s.
    const reads = vi.spyOn(gateway.collaboration, 'eventsAfter');
    expect(await client.request(op('q2', 2, 'n2'))).toMatchObject({ type: 'ack', cseq: 2 });
    expect(reads).not.toHaveBeenCalled();
  }, 15_000);
});
