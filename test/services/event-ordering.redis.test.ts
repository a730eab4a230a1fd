import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { UnavailableError } from '../../src/protocol';
import type { OpSubmission } from '../../src/document/op-submission';
import { RedisEventOrderingService } from '../../src/services/event-ordering/event-ordering.redis';
import { OrderingKeys } from '../../src/redis/ordering-keys';

const sub = (cseq: number): OpSubmission => ({
  doc: 'd',
  client: 'c',
  cseq,
  ops: [{ op: 'del', coll: 'x', id: 'y' }],
});

/** A command client that only answers what the producer calls besides BullMQ. */
function fakeClient() {
  return {
    defineCommand: () => undefined,
    flowMarkReady: async () => 0,
    publish: async () => 0,
    spublish: async () => 0,
  };
}

describe('RedisEventOrderingService (producer)', () => {
  it('refuses the batches behind a refused one, so a later op is never applied before an earlier one', async () => {
    const service = new RedisEventOrderingService({
      client: fakeClient() as never,
      keys: new OrderingKeys('flow-test:'),
      sharded: false,
      log: pino({ level: 'silent' }),
      toUnavailable: () => new UnavailableError('queue down'),
    });
    const added: number[][] = [];
    let calls = 0;
    // The first add fails after a while; the second would succeed at once.
    (service as unknown as { queueFor: () => unknown }).queueFor = () => ({
      add: async (_name: string, job: { submissions: OpSubmission[] }) => {
        calls++;
        if (calls === 1) {
          await new Promise((resolve) => setTimeout(resolve, 30));
          throw new Error('connection lost');
        }
        added.push(job.submissions.map((s) => s.cseq));
      },
    });
    const first = service.submit(sub(1));
    await new Promise((resolve) => setImmediate(resolve));
    const second = service.submit(sub(2));
    await expect(first).rejects.toBeInstanceOf(UnavailableError);
    await expect(second).rejects.toThrow(/earlier op of this document could not be queued/);
    expect(added).toEqual([]);
    // Once the chain is idle, a new batch goes through.
    await service.submit(sub(1));
    expect(added).toEqual([[1]]);
  });

  it('gathers the op messages of one document in one turn into one job', async () => {
    const service = new RedisEventOrderingService({
      client: fakeClient() as never,
      keys: new OrderingKeys('flow-test:'),
      sharded: true,
      log: pino({ level: 'silent' }),
      toUnavailable: () => new UnavailableError('queue down'),
    });
    const added: number[][] = [];
    (service as unknown as { queueFor: () => unknown }).queueFor = () => ({
      add: async (_name: string, job: { submissions: OpSubmission[] }) => {
        added.push(job.submissions.map((s) => s.cseq));
      },
    });
    await Promise.all([service.submit(sub(1)), service.submit(sub(2)), service.submit(sub(3))]);
    expect(added).toEqual([[1, 2, 3]]);
  });
});
