import { afterAll, describe, expect, it } from 'vitest';
import { UnavailableError } from '../../src/protocol';
import type { ApplyOutcome, OpSubmission } from '../../src/document/op-submission';
import type {
  BatchProcessor,
  EventOrderingService,
} from '../../src/services/event-ordering/event-ordering-service';
import { MemoryEventOrderingService } from '../../src/services/event-ordering/event-ordering.memory';
import { randomDocId, redisTestConfig, useRedisServers } from '../support/redis-harness';
import { waitFor } from '../support/scenarios';
import { OrderingFixture, OutcomeLog } from './ordering-fixture';

/**
 * One behaviour suite for the event ordering service: memory, and Redis
 * (BullMQ queues consumed by two OrderingWorkers, standing for two worker
 * processes) on a single Redis and on a cluster. The recorder sees what is
 * applied; the suite checks order, exactly-once and no overlap.
 */
const servers = useRedisServers();
const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

class RecordingProcessor {
  readonly applied = new Map<string, number[]>();
  private readonly active = new Set<string>();
  overlaps = 0;
  batches = 0;

  readonly process: BatchProcessor = async (doc, batch) => {
    if (this.active.has(doc)) this.overlaps++;
    this.active.add(doc);
    this.batches++;
    // Yield so that overlapping calls would have a chance to happen.
    await new Promise((resolve) => setTimeout(resolve, 1));
    const list = this.applied.get(doc) ?? [];
    list.push(...batch.map((s) => s.cseq));
    this.applied.set(doc, list);
    this.active.delete(doc);
  };
}

type Made = { service: EventOrderingService; recorder: RecordingProcessor };

const backends: Array<{ name: string; make(): Promise<Made> }> = [
  {
    name: 'memory',
    make: async () => {
      const recorder = new RecordingProcessor();
      const service = new MemoryEventOrderingService(recorder.process, 100, () => undefined);
      cleanups.push(() => service.close());
      return { service, recorder };
    },
  },
  ...(['single', 'cluster'] as const).map((target) => ({
    name: `redis ${target}`,
    make: async (): Promise<Made> => {
      const { single, cluster } = servers.addresses;
      const fixture = new OrderingFixture(redisTestConfig(target === 'single' ? single : cluster));
      cleanups.push(() => fixture.close());
      // Two workers, standing for two worker processes; they apply to Redis
      // and publish outcomes, which the recorder reads.
      const recorder = new RecordingProcessor();
      const outcomes = new OutcomeLog();
      const publish = outcomes.publish;
      const recording = Object.assign(outcomes, {
        publish: async (doc: string, list: ApplyOutcome[]) => {
          await recorder.process(
            doc,
            list.filter((o) => o.kind === 'applied').map((o) => submission(doc, o.client, o.cseq)),
          );
          await publish(doc, list);
        },
      });
      await fixture.worker(recording);
      await fixture.worker(recording);
      return { service: fixture.gateway(), recorder };
    },
  })),
];

const submission = (doc: string, client: string, cseq: number): OpSubmission => ({
  doc,
  client,
  cseq,
  ops: [{ op: 'set', coll: 'c', id: client, value: { cseq } }],
});

describe.each(backends)('EventOrderingService ($name)', (backend) => {
  it('applies each document in submission order, each op message once, never two batches of one document at once', async () => {
    const { service, recorder } = await backend.make();
    const docs = Array.from({ length: 6 }, () => randomDocId('order'));
    const perDoc = 60;
    const submits: Array<Promise<void>> = [];
    for (let cseq = 1; cseq <= perDoc; cseq++) {
      for (const doc of docs) submits.push(service.submit(submission(doc, 'c1', cseq)));
      if (cseq % 10 === 0) await new Promise((resolve) => setTimeout(resolve, 2));
    }
    await Promise.all(submits);
    await waitFor(
      () => docs.every((doc) => (recorder.applied.get(doc)?.length ?? 0) >= perDoc),
      15_000,
      'all applied',
    );
    for (const doc of docs)
      expect(recorder.applied.get(doc)).toEqual(Array.from({ length: perDoc }, (_, i) => i + 1));
    expect(recorder.overlaps).toBe(0);
    // Batching: fewer processor calls than op messages.
    expect(recorder.batches).toBeLessThan(docs.length * perDoc);
  });

  it('refuses submissions with UNAVAILABLE once closed', async () => {
    const { service } = await backend.make();
    await service.close();
    await expect(service.submit(submission(randomDocId(), 'c1', 1))).rejects.toBeInstanceOf(
      UnavailableError,
    );
  });
});
