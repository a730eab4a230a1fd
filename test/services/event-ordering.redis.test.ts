import { Queue, RedisQueueBackend } from 'bullmq';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { printQueues } from '../../src/app/queue-report';
import { UnavailableError } from '../../src/protocol';
import {
  INTENT_MS,
  RedisEventOrderingService,
} from '../../src/services/event-ordering/event-ordering.redis';
import { QUEUE_EVENTS_MAX_LEN } from '../../src/services/event-ordering/document-queue';
import { OrderingScripts } from '../../src/services/event-ordering/lua';
import { CollaborationScripts } from '../../src/services/collaboration/lua';
import {
  randomDocId,
  redisTestConfig,
  startRedis,
  useRedisServers,
} from '../support/redis-harness';
import { waitFor } from '../support/scenarios';
import { OrderingFixture, OutcomeLog, quiet, submission } from './ordering-fixture';

/** Redis ordering against real Redis: gateways (BullMQ queues), workers, and the faults between them. */
const servers = useRedisServers();
const fixtures: OrderingFixture[] = [];
afterEach(async () => {
  await Promise.all(fixtures.splice(0).map((f) => f.close()));
});

function fixture(target: 'single' | 'cluster', vars: Record<string, string> = {}): OrderingFixture {
  const { single, cluster } = servers.addresses;
  const made = new OrderingFixture(redisTestConfig(target === 'single' ? single : cluster, vars));
  fixtures.push(made);
  return made;
}

/** A gateway whose first add of each queue runs but loses its answer (the connection dropped). */
class AnswerLostOnce extends RedisEventOrderingService {
  private readonly lost = new Set<string>();
  protected override queueFor(doc: string): Queue {
    const queue = super.queueFor(doc);
    if (this.lost.has(doc)) return queue;
    this.lost.add(doc);
    const add = queue.add.bind(queue);
    let answered = false;
    return Object.assign(Object.create(queue) as Queue, {
      add: async (...args: Parameters<Queue['add']>) => {
        const job = await add(...args);
        if (answered) return job;
        answered = true;
        throw new Error('Connection is closed.');
      },
    });
  }
}

/** A gateway killed between its add and its mark: the jobs are queued, the mark never comes. */
class KilledBeforeMark extends RedisEventOrderingService {
  protected override async markAdded(): Promise<void> {}
}

/** Opens when `open()` is called; `wait()` resolves then. */
class Gate {
  open!: () => void;
  private readonly opened = new Promise<void>((resolve) => (this.open = resolve));
  wait(): Promise<void> {
    return this.opened;
  }
}

/**
 * A gateway whose first mark is late (sent again after NOSCRIPT, say) and
 * arrives after its second batch's intent; the second batch's add waits for
 * `secondAdd`, and the gateway dies before the second mark.
 */
class LateFirstMark extends RedisEventOrderingService {
  readonly firstMark = new Gate();
  readonly secondAdd = new Gate();
  private marks = 0;
  private adds = 0;
  protected override async markAdded(doc: string, intent: string, job: string): Promise<void> {
    if (++this.marks > 1) return;
    await this.firstMark.wait();
    await super.markAdded(doc, intent, job);
  }
  protected override queueFor(doc: string): Queue {
    const queue = super.queueFor(doc);
    const add = queue.add.bind(queue);
    return Object.assign(Object.create(queue) as Queue, {
      add: async (...args: Parameters<Queue['add']>) => {
        if (++this.adds === 2) await this.secondAdd.wait();
        return add(...args);
      },
    });
  }
}

describe.each(['single', 'cluster'] as const)('Redis ordering on %s Redis', (target) => {
  it('adds jobs with BullMQ into a queue whose own reads tell its backlog', async () => {
    const f = fixture(target);
    const gateway = f.gateway();
    const doc = randomDocId('q');
    await Promise.all([1, 2, 3].map((cseq) => gateway.submit(submission(doc, 'a', cseq))));
    const redis = f.resources();
    const queue = new Queue(f.keys.queueName, {
      connection: redis.commands,
      prefix: f.keys.queuePrefix(doc),
      skipMetasUpdate: true,
      skipVersionCheck: true,
    });
    try {
      // One I/O turn, one job; nothing consumes it (no worker here).
      expect(await queue.getJobCounts('wait')).toEqual({ wait: 1 });
      const [job] = await queue.getWaiting();
      expect(job?.data).toMatchObject({ s: [{}, {}, {}] });
      expect(await queue.getVersion()).toMatch(/^bullmq:/);
      expect(await redis.commands.hget(f.keys.queueKey(doc, 'meta'), 'opts.maxLenEvents')).toBe(
        String(QUEUE_EVENTS_MAX_LEN),
      );
    } finally {
      await queue.close();
    }
  });

  it("writes a document queue's meta once while the document lives, not each time its queue is opened again", async () => {
    const f = fixture(target);
    // One queue kept open: every other document's op closes the last one's.
    const gateway = f.gateway({ queueCacheSize: 1 });
    const [a, b] = [randomDocId('meta-a'), randomDocId('meta-b')];
    const writes = vi.spyOn(RedisQueueBackend.prototype, 'setQueueMeta');
    try {
      for (const [doc, cseq] of [
        [a, 1],
        [b, 1],
        [a, 2],
        [b, 2],
      ] as const) {
        await gateway.submit(submission(doc, 'c', cseq));
      }
      expect(writes).toHaveBeenCalledTimes(2);
      const meta = await f.resources().commands.hgetall(f.keys.queueKey(a, 'meta'));
      expect(meta).toMatchObject({ 'opts.maxLenEvents': String(QUEUE_EVENTS_MAX_LEN) });
      expect(meta.version).toMatch(/^bullmq:/);
    } finally {
      writes.mockRestore();
    }
  });

  it('applies each document in order, once, batches bounded by ORDERING_BATCH_MAX, and leaves no job', async () => {
    const f = fixture(target, { ORDERING_BATCH_MAX: '7' });
    const log = new OutcomeLog();
    await f.worker(log);
    await f.worker(log);
    const gateway = f.gateway();
    const docs = Array.from({ length: 4 }, () => randomDocId('order'));
    const perDoc = 60;
    const submits: Array<Promise<void>> = [];
    for (let cseq = 1; cseq <= perDoc; cseq++) {
      for (const doc of docs) submits.push(gateway.submit(submission(doc, 'a', cseq)));
      // Bursts of 20 per document in one turn: jobs of up to 7 (the gateway splits them).
      if (cseq % 20 === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await Promise.all(submits);
    await waitFor(
      () => docs.every((doc) => log.applied(doc).length >= perDoc),
      15_000,
      'all applied',
    );
    const expected = Array.from({ length: perDoc }, (_, i) => i + 1);
    for (const doc of docs) expect(log.applied(doc)).toEqual(expected);
    expect(log.overlaps).toBe(0);
    expect(Math.max(...log.batchSizes)).toBeLessThanOrEqual(7);
    const redis = f.resources().commands;
    for (const doc of docs) {
      expect(await redis.llen(f.keys.queueKey(doc, 'wait'))).toBe(0);
      expect(await redis.exists(f.keys.queueKey(doc, '1'))).toBe(0);
      // Capped: BullMQ trims approximately, by whole stream nodes (100 entries).
      expect(await redis.xlen(f.keys.queueKey(doc, 'events'))).toBeLessThanOrEqual(
        QUEUE_EVENTS_MAX_LEN + 100,
      );
    }
  });

  it('finds the jobs of a gateway killed between its add and its mark', async () => {
    const f = fixture(target);
    const log = new OutcomeLog();
    await f.worker(log, { pollMs: 100 });
    const gateway = f.gateway({}, (o) => new KilledBeforeMark(o));
    const doc = randomDocId('killed');
    const started = Date.now();
    await gateway.submit(submission(doc, 'a', 1));
    await waitFor(() => log.applied(doc).length === 1, INTENT_MS + 3000, 'applied');
    expect(Date.now() - started).toBeLessThan(INTENT_MS + 1000);
  });

  it("finds a batch whose intent a late mark of the batch before could have taken, when the gateway dies before the batch's own mark", async () => {
    const f = fixture(target);
    const log = new OutcomeLog();
    await f.worker(log, { pollMs: 100 });
    const gateway = f.gateway({}, (o) => new LateFirstMark(o)) as LateFirstMark;
    const doc = randomDocId('late-mark');
    await gateway.submit(submission(doc, 'a', 1));
    // The second batch's intent is written; its add waits.
    const second = gateway.submit(submission(doc, 'a', 2));
    await waitFor(
      async () => (await f.resources().commands.zcard(f.keys.intents(f.keys.shardOf(doc)))) > 0,
      3000,
      "the second batch's intent",
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    // The first mark now: a worker applies the first batch and unmarks.
    gateway.firstMark.open();
    await waitFor(() => log.applied(doc).length === 1, 3000, 'the first batch applied');
    await waitFor(
      async () =>
        (await f.resources().commands.zscore(f.keys.ready(f.keys.shardOf(doc)), doc)) === null,
      3000,
      'unmarked',
    );
    // Then the second add, and no mark ever (the gateway died).
    gateway.secondAdd.open();
    await second;
    await waitFor(
      () => log.applied(doc).length === 2,
      INTENT_MS + 3000,
      'the second batch applied',
    );
  });

  it("turns an expired intent of an earlier release's layout ('<gateway> <doc>') into a mark too", async () => {
    const f = fixture(target);
    const redis = f.resources().commands;
    const doc = randomDocId('old-intent');
    const shard = f.keys.shardOf(doc);
    await redis.zadd(f.keys.intents(shard), 1, `gw-old ${doc}`);
    const swept = await OrderingScripts.sweep.run(
      redis,
      [f.keys.ready(shard), f.keys.intents(shard)],
      [Date.now(), 1000],
    );
    expect(swept).toContain(doc);
    expect(await redis.zscore(f.keys.ready(shard), doc)).not.toBeNull();
    expect(await redis.zscore(f.keys.intents(shard), `gw-old ${doc}`)).toBeNull();
  });

  it('finds the jobs whose mark failed, once Redis takes writes to the ready set again', async () => {
    const f = fixture(target);
    const log = new OutcomeLog();
    await f.worker(log, { pollMs: 100 });
    const gateway = f.gateway();
    const doc = randomDocId('unmarked');
    const ready = f.keys.ready(f.keys.shardOf(doc));
    const redis = f.resources().commands;
    // A ready set of the wrong type: the mark fails (WRONGTYPE), the intent does not.
    await redis.set(ready, 'broken');
    await gateway.submit(submission(doc, 'a', 1));
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(log.applied(doc)).toEqual([]);
    await redis.del(ready);
    await waitFor(() => log.applied(doc).length === 1, INTENT_MS + 3000, 'applied');
  });

  it('finds a marked document whose wake-up was lost, at its next poll', async () => {
    const f = fixture(target);
    const gateway = f.gateway();
    const doc = randomDocId('lost-wake');
    // No worker listens when the wake-up goes out.
    await gateway.submit(submission(doc, 'a', 1));
    await new Promise((resolve) => setTimeout(resolve, 50));
    const log = new OutcomeLog();
    await f.worker(log, { pollMs: 100 });
    await waitFor(() => log.applied(doc).length === 1, 1000, 'applied');
  });

  it('spends one take and one unmark on an op of a quiet document; the other woken worker takes once and leaves the mark alone', async () => {
    const f = fixture(target);
    const log = new OutcomeLog();
    // No polls during the test: only the wake-up starts turns. A long lease:
    // a turn holds the mark only once it has lasted a third of it.
    const options = { pollMs: 60_000, leaseMs: 30_000 };
    await f.worker(log, options);
    await f.worker(log, options);
    const gateway = f.gateway();
    const doc = randomDocId('quiet');
    const ready = f.keys.ready(f.keys.shardOf(doc));
    const redis = f.resources().commands;
    const takes = vi.spyOn(CollaborationScripts.takeApply, 'run');
    const marks = vi.spyOn(OrderingScripts.hold, 'run');
    const ofDoc = (spy: typeof takes) =>
      spy.mock.calls.filter((call) => JSON.stringify(call.slice(1)).includes(doc)).length;
    try {
      await gateway.submit(submission(doc, 'a', 1));
      await waitFor(() => log.applied(doc).length === 1, 3000, 'applied');
      await waitFor(async () => (await redis.zscore(ready, doc)) === null, 3000, 'unmarked');
      // The other worker's turn (woken too) ends with its one take.
      await waitFor(() => ofDoc(takes) >= 2, 3000, 'both workers took');
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(ofDoc(takes)).toBe(2);
      expect(marks.mock.calls.filter((call) => JSON.stringify(call[2]).includes(doc))).toEqual([
        [expect.anything(), [ready], [doc, 'unmark', expect.any(Number)]],
      ]);
    } finally {
      takes.mockRestore();
      marks.mockRestore();
    }
  });

  it('hands a document over at once when its worker stops gracefully', async () => {
    const f = fixture(target);
    const firstLog = new OutcomeLog();
    const first = await f.worker(firstLog, { leaseMs: 8000, pollMs: 100 });
    const gateway = f.gateway();
    const doc = randomDocId('handover');
    await gateway.submit(submission(doc, 'a', 1));
    await waitFor(() => firstLog.applied(doc).length === 1, 3000, 'applied by the first');
    const secondLog = new OutcomeLog();
    await f.worker(secondLog, { leaseMs: 8000, pollMs: 100 });
    await first.close();
    const stopped = Date.now();
    await gateway.submit(submission(doc, 'a', 2));
    await waitFor(() => secondLog.applied(doc).length === 1, 8000, 'applied by the second');
    // Well within the 8 s lease the first worker's claim would otherwise last.
    expect(Date.now() - stopped).toBeLessThan(2000);
  });

  it('tells a worker that skipped a document of the stopping one, even when the document has no mark left', async () => {
    const f = fixture(target);
    // No polls: only wake-ups and hand-overs start turns.
    const options = { leaseMs: 8000, pollMs: 60_000 };
    const logs = [new OutcomeLog(), new OutcomeLog()];
    const workers = [await f.worker(logs[0]!, options), await f.worker(logs[1]!, options)];
    const gateway = f.gateway();
    const doc = randomDocId('skipped');
    // Both hear the wake-up; the one whose take came second got `claimed`
    // and skips the document for the 8 s lease.
    await gateway.submit(submission(doc, 'a', 1));
    await waitFor(() => logs.some((log) => log.applied(doc).length === 1), 3000, 'applied');
    const owner = logs[0]!.applied(doc).length === 1 ? 0 : 1;
    const survivor = logs[1 - owner]!;
    await waitFor(
      async () =>
        (await f.resources().commands.zscore(f.keys.ready(f.keys.shardOf(doc)), doc)) === null,
      3000,
      'unmarked: the turn ended, the claim is held on',
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    await workers[owner]!.close();
    const stopped = Date.now();
    await gateway.submit(submission(doc, 'a', 2));
    await waitFor(() => survivor.applied(doc).length === 1, 8000, 'applied by the survivor');
    // Well within the 8 s the survivor would otherwise skip the document.
    expect(Date.now() - stopped).toBeLessThan(3000);
  });

  it('keeps ops pending behind a stopped worker and applies them after the hand-over', async () => {
    const f = fixture(target);
    const firstLog = new OutcomeLog();
    const first = await f.worker(firstLog, { leaseMs: 8000, pollMs: 100 });
    const gateway = f.gateway();
    const doc = randomDocId('backlog');
    const submits = Array.from({ length: 300 }, (_, i) =>
      gateway.submit(submission(doc, 'a', i + 1)),
    );
    await Promise.all(submits);
    await waitFor(() => firstLog.applied(doc).length > 0, 3000, 'first batch');
    const secondLog = new OutcomeLog();
    await f.worker(secondLog, { leaseMs: 8000, pollMs: 100 });
    const stopped = Date.now();
    await first.close();
    await waitFor(
      () => firstLog.applied(doc).length + secondLog.applied(doc).length === 300,
      8000,
      'all applied',
    );
    expect(Date.now() - stopped).toBeLessThan(3000);
    expect([...firstLog.applied(doc), ...secondLog.applied(doc)]).toEqual(
      Array.from({ length: 300 }, (_, i) => i + 1),
    );
  });
});

describe('take-apply-12 applies by the rules of apply-6', () => {
  const epochOf = (log: OutcomeLog, doc: string) => {
    const first = log.outcomes.get(doc)?.find((o) => o.kind === 'applied');
    return first?.kind === 'applied' ? first.epoch : undefined;
  };

  it('refuses an op that would take the document past DOC_MAX_BYTES with TOO_LARGE, and applies the next', async () => {
    const f = fixture('single');
    const log = new OutcomeLog();
    await f.worker(log, { maxDocBytes: 300 });
    const gateway = f.gateway();
    const doc = randomDocId('size');
    const big = { ...submission(doc, 'a', 1) };
    big.ops = [{ op: 'set', coll: 'c', id: 'big', value: { text: 'x'.repeat(400) } }];
    await gateway.submit(big);
    await gateway.submit(submission(doc, 'a', 2));
    await waitFor(() => (log.outcomes.get(doc)?.length ?? 0) === 2, 3000, 'answered');
    expect(log.outcomes.get(doc)?.[0]).toMatchObject({ kind: 'rejected', code: 'TOO_LARGE' });
    expect(log.outcomes.get(doc)?.[1]).toMatchObject({ kind: 'applied', seq: 1 });
    const session = f.docKeys.doc(doc).session;
    expect(Number(await f.resources().commands.hget(session, 'bytes'))).toBeLessThan(300);
  });

  it('moves a document whose history went back below an acknowledged seq to a new epoch', async () => {
    const f = fixture('single');
    const log = new OutcomeLog();
    await f.worker(log);
    const gateway = f.gateway();
    const doc = randomDocId('lost');
    for (const cseq of [1, 2, 3]) await gateway.submit(submission(doc, 'a', cseq));
    await waitFor(() => log.applied(doc).length === 3, 3000, 'applied');
    const epoch = epochOf(log, doc);
    // A failover to a replica that lacked the last two writes.
    const k = f.docKeys.doc(doc);
    const redis = f.resources().commands;
    await redis.xdel(k.history, '0-2', '0-3');
    await redis.call('XSETID', k.history, '0-1');
    await redis.hset(k.session, 'seq', '1');
    await gateway.submit(submission(doc, 'b', 1));
    await waitFor(() => log.applied(doc).length === 4, 3000, 'applied after the loss');
    const last = log.outcomes.get(doc)?.at(-1);
    expect(last).toMatchObject({ kind: 'applied', seq: 2 });
    expect(last?.kind === 'applied' && last.epoch).not.toBe(epoch);
  });

  it('moves it too on the point a submission carries from its gateway (a worker that took over knows none)', async () => {
    const f = fixture('single');
    const log = new OutcomeLog();
    await f.worker(log);
    const gateway = f.gateway();
    const doc = randomDocId('seen');
    await gateway.submit(submission(doc, 'a', 1));
    await waitFor(() => log.applied(doc).length === 1, 3000, 'applied');
    const epoch = epochOf(log, doc) ?? '';
    await gateway.submit({ ...submission(doc, 'a', 2), seen: { epoch, seq: 5 } });
    await waitFor(() => log.applied(doc).length === 2, 3000, 'applied after the loss');
    const last = log.outcomes.get(doc)?.at(-1);
    expect(last).toMatchObject({ kind: 'applied', seq: 2 });
    expect(last?.kind === 'applied' && last.epoch).not.toBe(epoch);
  });

  it('publishes no outcome before REDIS_WAIT_REPLICAS is met or its WAIT timed out', async () => {
    const f = fixture('single');
    const log = new OutcomeLog();
    // A single Redis has no replica: each WAIT runs its whole timeout.
    await f.worker(log, { waitReplicas: 1, waitTimeoutMs: 400 });
    const gateway = f.gateway();
    const doc = randomDocId('wait');
    const started = Date.now();
    await gateway.submit(submission(doc, 'a', 1));
    await waitFor(() => log.applied(doc).length === 1, 3000, 'applied');
    expect(Date.now() - started).toBeGreaterThanOrEqual(380);
  });
});

describe('an add in doubt', () => {
  it('goes again under the same job id: the op is applied once and answered, and the next op waits behind it', async () => {
    const f = fixture('single');
    const log = new OutcomeLog();
    await f.worker(log);
    const gateway = f.gateway({}, (o) => new AnswerLostOnce(o));
    const doc = randomDocId('doubt');
    await gateway.submit(submission(doc, 'a', 1));
    await gateway.submit(submission(doc, 'a', 2));
    await waitFor(() => log.applied(doc).length === 2, 5000, 'both applied');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(log.applied(doc)).toEqual([1, 2]);
    const outcomes = log.outcomes.get(doc) ?? [];
    // The job went in once: BullMQ took its id once, so nothing was applied twice.
    expect(outcomes.filter((o) => o.cseq === 1).map((o) => o.kind)).not.toContain('rejected');
    expect(outcomes.filter((o) => o.kind === 'applied').map((o) => o.cseq)).toEqual([1, 2]);
  });
});

describe('a job the take script fails on', () => {
  it('is set aside in the failed set with its reason, its op answered INTERNAL, and the later ops go on, none lost', async () => {
    const f = fixture('single');
    const log = new OutcomeLog();
    await f.worker(log);
    const gateway = f.gateway();
    const doc = randomDocId('poison');
    await gateway.submit(submission(doc, 'a', 1));
    await waitFor(() => log.applied(doc).length === 1, 3000, 'first op applied');

    const redis = f.resources();
    const queue = new Queue(f.keys.queueName, {
      connection: redis.commands,
      prefix: f.keys.queuePrefix(doc),
      skipVersionCheck: true,
    });
    try {
      // Readable JSON whose op count is not a number: the script fails on it every time.
      await queue.add('ops', { s: [{ a: ['b', '7', '[]', 'not-a-count'], r: 'poison-ref' }] });
      await gateway.submit(submission(doc, 'a', 2));
      await waitFor(() => log.applied(doc).length === 2, 10_000, 'the op behind it applied');

      const outcomes = log.outcomes.get(doc) ?? [];
      expect(outcomes.map((o) => [o.kind, o.client, o.cseq])).toEqual([
        ['applied', 'a', 1],
        ['rejected', 'b', 7],
        ['applied', 'a', 2],
      ]);
      expect(outcomes[1]).toMatchObject({ code: 'INTERNAL', ref: 'poison-ref' });
      expect(outcomes[2]).toMatchObject({ seq: 2 });
      const [failed] = await queue.getFailed();
      expect(failed?.failedReason).toMatch(/cannot read this job: op message 1: malformed/);
      expect(await queue.getJobCounts('wait', 'failed')).toEqual({ wait: 0, failed: 1 });
    } finally {
      await queue.close();
    }
  });

  it('sets aside a job whose data is not JSON at all (nothing to answer) and goes on', async () => {
    const f = fixture('cluster');
    const log = new OutcomeLog();
    const gateway = f.gateway();
    const doc = randomDocId('garbled');
    const redis = f.resources();
    const queue = new Queue(f.keys.queueName, {
      connection: redis.commands,
      prefix: f.keys.queuePrefix(doc),
      skipVersionCheck: true,
    });
    try {
      const job = await queue.add('ops', { s: [] });
      await redis.commands.hset(f.keys.queueKey(doc, job.id ?? ''), 'data', '{"s":[');
      await gateway.submit(submission(doc, 'a', 1));
      await f.worker(log);
      await waitFor(() => log.applied(doc).length === 1, 10_000, 'the op behind it applied');
      expect(log.outcomes.get(doc)).toMatchObject([{ kind: 'applied', cseq: 1, seq: 1 }]);
      const [failed] = await queue.getFailed();
      expect(failed?.failedReason).toMatch(/its data is not JSON/);
      const hash = await redis.commands.hgetall(f.keys.queueKey(doc, failed?.id ?? ''));
      expect(hash).toMatchObject({ data: '{}', unreadableData: '{"s":[' });
    } finally {
      await queue.close();
    }
  });
});

describe('jobs the take script only takes', () => {
  it('applies a job of the earlier layout (an older gateway) in process, in queue order', async () => {
    const f = fixture('single');
    const doc = randomDocId('legacy');
    const redis = f.resources().commands;
    const queue = new Queue(f.keys.queueName, {
      connection: redis,
      prefix: f.keys.queuePrefix(doc),
      skipVersionCheck: true,
    });
    try {
      // What a gateway of the earlier release adds and marks.
      await queue.add('ops', { submissions: [submission(doc, 'a', 1), submission(doc, 'a', 2)] });
    } finally {
      await queue.close();
    }
    await f.gateway().submit(submission(doc, 'a', 3));
    await redis.zadd(f.keys.ready(f.keys.shardOf(doc)), Date.now(), doc);
    const log = new OutcomeLog();
    await f.worker(log, { pollMs: 100 });
    await waitFor(() => log.applied(doc).length === 3, 3000, 'all applied');
    expect(log.applied(doc)).toEqual([1, 2, 3]);
    const seqs = (log.outcomes.get(doc) ?? []).map((o) => (o.kind === 'applied' ? o.seq : 0));
    expect(seqs).toEqual([1, 2, 3]);
    expect(await redis.llen(f.keys.queueKey(doc, 'wait'))).toBe(0);
  });

  it('hands every batch to the processor when document state is in memory', async () => {
    const f = fixture('single');
    const log = new OutcomeLog();
    const given: number[] = [];
    await f.worker(log, {
      stateInRedis: false,
      processor: async (_doc, batch) => {
        given.push(...batch.map((sub) => sub.cseq));
      },
    });
    const gateway = f.gateway();
    const doc = randomDocId('memory');
    for (const cseq of [1, 2, 3]) await gateway.submit(submission(doc, 'a', cseq));
    await waitFor(() => given.length === 3, 3000, 'all taken');
    expect(given).toEqual([1, 2, 3]);
    // Nothing was applied in Redis.
    expect(await f.resources().commands.exists(f.docKeys.doc(doc).session)).toBe(0);
  });
});

describe('flow queues', () => {
  it("prints one document's queue as BullMQ counts it, and the busiest documents marked ready", async () => {
    const f = fixture('single');
    const gateway = f.gateway();
    const busy = randomDocId('busy');
    const quietDoc = randomDocId('quiet');
    // No worker: the jobs stay queued.
    for (const cseq of [1, 2, 3]) await gateway.submit(submission(busy, 'a', cseq));
    await gateway.submit(submission(quietDoc, 'a', 1));
    const lines: string[] = [];
    const spy = vi.spyOn(console, 'log').mockImplementation((line: string) => lines.push(line));
    try {
      await printQueues(f.config, quiet, [busy]);
      await printQueues(f.config, quiet, []);
    } finally {
      spy.mockRestore();
    }
    expect(JSON.parse(lines[0] ?? '{}')).toMatchObject({
      doc: busy,
      waiting: 3,
      owner: null,
      counts: { wait: 3, active: 0, delayed: 0, failed: 0 },
    });
    expect(lines[1]).toMatch(/^2 documents marked ready/);
    expect(lines[3]?.split('\t').slice(0, 2)).toEqual([busy, '3']);
    expect(lines[4]?.split('\t').slice(0, 2)).toEqual([quietDoc, '1']);
  });
});

describe('Redis ordering when Redis refuses writes', () => {
  it('refuses the batches behind a refused one, and queues again once Redis takes writes', async () => {
    const server = await startRedis();
    const f = new OrderingFixture(redisTestConfig({ host: server.host, port: server.port }));
    const control = new Redis(server.port, server.host);
    try {
      const gateway = f.gateway();
      const doc = randomDocId('oom');
      await gateway.submit(submission(doc, 'a', 0));
      await control.config('SET', 'maxmemory', '1');
      const first = gateway.submit(submission(doc, 'a', 1));
      await new Promise((resolve) => setImmediate(resolve));
      const second = gateway.submit(submission(doc, 'a', 2));
      await expect(first).rejects.toBeInstanceOf(UnavailableError);
      await expect(second).rejects.toThrow(/earlier op of this document could not be queued/);
      await control.config('SET', 'maxmemory', '0');
      await gateway.submit(submission(doc, 'a', 1));
      expect(await control.llen(f.keys.queueKey(doc, 'wait'))).toBe(2);
    } finally {
      control.disconnect();
      await f.close();
      await server.stop();
    }
  });
});
