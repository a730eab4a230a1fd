import { afterEach, describe, expect, it, vi } from 'vitest';
import { CollaborationScripts } from '../../src/services/collaboration/lua';
import { WorkerRoster } from '../../src/worker/worker-roster';
import { randomDocId, redisTestConfig, useRedisServers } from '../support/redis-harness';
import { waitFor } from '../support/scenarios';
import { OrderingFixture, OutcomeLog, submission } from './ordering-fixture';

/**
 * Which worker takes a woken document, and how many take scripts that
 * costs: the backlog of a busy worker, and the roster of the live workers.
 * Against real Redis, single and cluster.
 */
const servers = useRedisServers();
const fixtures: OrderingFixture[] = [];
afterEach(async () => {
  await Promise.all(fixtures.splice(0).map((f) => f.close()));
});

function fixture(target: 'single' | 'cluster'): OrderingFixture {
  const { single, cluster } = servers.addresses;
  const made = new OrderingFixture(redisTestConfig(target === 'single' ? single : cluster));
  fixtures.push(made);
  return made;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** One op to each document; waits until each is applied, then a little for any late take. */
async function applyOneOpEach(
  gateway: { submit: (sub: ReturnType<typeof submission>) => Promise<void> },
  log: OutcomeLog,
  docs: readonly string[],
): Promise<void> {
  for (const doc of docs) await gateway.submit(submission(doc, 'a', 1));
  for (const doc of docs) {
    await waitFor(() => log.applied(doc).length === 1, 5000, `applied ${doc}`);
  }
  await new Promise((resolve) => setTimeout(resolve, 200));
}

/**
 * Counts the take script's calls per document. `firstDelayMs` holds the
 * first call back that long: a turn that lasts while other messages arrive.
 */
function spyTakes(firstDelayMs = 0) {
  const take = CollaborationScripts.takeApply.run.bind(CollaborationScripts.takeApply);
  const spy = vi.spyOn(CollaborationScripts.takeApply, 'run');
  if (firstDelayMs > 0) {
    spy.mockImplementationOnce(async (...args) => {
      await new Promise((resolve) => setTimeout(resolve, firstDelayMs));
      return take(...args);
    });
  }
  return {
    ofDoc: (doc: string) =>
      spy.mock.calls.filter((call) => JSON.stringify(call.slice(1)).includes(doc)).length,
    restore: () => spy.mockRestore(),
  };
}

describe.each(['single', 'cluster'] as const)('Worker turns on %s Redis', (target) => {
  it('keeps the wake-up of a document it could not start at once: one take when its turn comes, no extra look', async () => {
    const f = fixture(target);
    const log = new OutcomeLog();
    // One document at a time, no polls: the others wait in the worker's backlog.
    await f.worker(log, { pollMs: 60_000, leaseMs: 30_000, concurrency: 1 });
    const gateway = f.gateway();
    const docs = [randomDocId('busy'), randomDocId('later'), randomDocId('later')];
    // The first turn lasts long enough for the other wake-ups to arrive during it.
    const takes = spyTakes(300);
    try {
      await applyOneOpEach(gateway, log, docs);
      // Without the wake-up's job id, a turn takes once to learn the waiting ids, then again.
      expect(docs.map(takes.ofDoc)).toEqual([1, 1, 1]);
    } finally {
      takes.restore();
    }
  });

  it('ends a turn of several batches at once while another document waits for its slot', async () => {
    const f = fixture(target);
    const log = new OutcomeLog();
    await f.worker(log, { pollMs: 60_000, leaseMs: 30_000, concurrency: 1 });
    const gateway = f.gateway();
    const busy = randomDocId('busy');
    const waiting = randomDocId('waiting');
    // The first take lasts 300 ms: a second job of `busy` and the op of `waiting` arrive meanwhile.
    const takes = spyTakes(300);
    try {
      await gateway.submit(submission(busy, 'a', 1));
      await sleep(50);
      await gateway.submit(submission(busy, 'a', 2));
      await gateway.submit(submission(waiting, 'b', 1));
      await waitFor(
        () => log.applied(busy).length === 2 && log.applied(waiting).length === 1,
        5000,
        'all applied',
      );
      await sleep(200);
      // One take per job, and one more look after the unmark found the
      // mark moved (by the second add). A turn that waited for more work
      // before ending would take once more, with `waiting` kept from the slot.
      expect(takes.ofDoc(busy)).toBe(3);
    } finally {
      takes.restore();
    }
  });

  describe('with a roster of the live workers', () => {
    const rosterOf = (self: string, live: string[], graceMs = 300) => {
      return new WorkerRoster({
        self,
        readLive: () => Promise.resolve(live),
        refreshMs: 60_000,
        departedForMs: 30_000,
        graceMs,
      });
    };
    /** A fresh document id whose preferred worker (of `live`) is `worker`. */
    const docPreferredTo = async (worker: string, live: string[]) => {
      const roster = rosterOf(worker, live);
      await roster.refresh();
      for (;;) {
        const doc = randomDocId('pref');
        if (roster.prefers(doc)) return doc;
      }
    };

    it('spends one take in all on an op of a quiet document: the other worker leaves it alone', async () => {
      const f = fixture(target);
      const log = new OutcomeLog();
      const live = ['w1', 'w2'];
      const options = { pollMs: 60_000, leaseMs: 30_000 };
      await f.worker(log, { ...options, roster: rosterOf('w1', live) });
      await f.worker(log, { ...options, roster: rosterOf('w2', live) });
      const gateway = f.gateway();
      const takes = spyTakes();
      try {
        const docs = [randomDocId('quiet'), randomDocId('quiet'), randomDocId('quiet')];
        await applyOneOpEach(gateway, log, docs);
        expect(docs.map(takes.ofDoc)).toEqual([1, 1, 1]);
      } finally {
        takes.restore();
      }
    });

    it("applies a document whose preferred worker does not answer at the others' next poll", async () => {
      const f = fixture(target);
      const log = new OutcomeLog();
      const live = ['w1', 'gone'];
      const roster = rosterOf('w1', live);
      await roster.refresh();
      await f.worker(log, { pollMs: 200, roster });
      const gateway = f.gateway();
      const doc = await docPreferredTo('gone', live);
      await gateway.submit(submission(doc, 'a', 1));
      await waitFor(() => log.applied(doc).length === 1, 3000, 'applied by the poll');
    });

    it("leaves a fresh mark of another worker's document to it at its polls", async () => {
      const f = fixture(target);
      const live = ['w1', 'w2'];
      const doc = await docPreferredTo('w1', live);
      const firstLog = new OutcomeLog();
      const secondLog = new OutcomeLog();
      // Polls every 50 ms; marks of the other's documents are fresh for 1 s.
      await f.worker(firstLog, { pollMs: 50, roster: rosterOf('w1', live, 1000) });
      await f.worker(secondLog, { pollMs: 50, roster: rosterOf('w2', live, 1000) });
      const gateway = f.gateway();
      // The preferred worker's first take waits 300 ms: the mark stays, and w2 polls meanwhile.
      const takes = spyTakes(300);
      try {
        await gateway.submit(submission(doc, 'a', 1));
        await waitFor(() => firstLog.applied(doc).length === 1, 3000, 'applied by w1');
        expect(secondLog.applied(doc)).toEqual([]);
      } finally {
        takes.restore();
      }
    });

    it("leaves even old marks of another worker's documents alone while its own wait for a slot", async () => {
      const f = fixture(target);
      const log = new OutcomeLog();
      // w2 never runs: the marks of its documents grow old, and w1's polls see them.
      const live = ['w1', 'w2'];
      const worker = await f.worker(log, {
        pollMs: 50,
        leaseMs: 30_000,
        concurrency: 1,
        roster: rosterOf('w1', live, 100),
      });
      const gateway = f.gateway();
      const own = await docPreferredTo('w1', live);
      const ownNext = await docPreferredTo('w1', live);
      const others = await docPreferredTo('w2', live);
      // The first turn (own) lasts 800 ms; ownNext waits for the slot meanwhile.
      const takes = spyTakes(800);
      try {
        await gateway.submit(submission(own, 'a', 1));
        await sleep(50);
        await gateway.submit(submission(ownNext, 'a', 1));
        await gateway.submit(submission(others, 'b', 1));
        // Several polls while the slot is busy, the mark of `others` past the grace.
        await sleep(500);
        expect(worker.backlogSize).toBe(1);
        // Once its own documents are done, the worker takes the other's.
        await waitFor(() => log.applied(others).length === 1, 5000, 'applied after the backlog');
        expect(log.applied(ownNext)).toHaveLength(1);
      } finally {
        takes.restore();
      }
    });

    it('answers the wake-ups of a stopping worker at once: it says it leaves', async () => {
      const f = fixture(target);
      const live = ['w1', 'w2'];
      // No polls: only wake-ups start turns.
      const options = { pollMs: 60_000, leaseMs: 30_000 };
      const firstLog = new OutcomeLog();
      const first = await f.worker(firstLog, { ...options, roster: rosterOf('w1', live) });
      const secondLog = new OutcomeLog();
      await f.worker(secondLog, { ...options, roster: rosterOf('w2', live) });
      const gateway = f.gateway();
      const doc = await docPreferredTo('w1', live);
      await gateway.submit(submission(doc, 'a', 1));
      await waitFor(() => firstLog.applied(doc).length === 1, 3000, 'applied by its worker');
      await first.close();
      await gateway.submit(submission(doc, 'a', 2));
      await waitFor(() => secondLog.applied(doc).length === 1, 3000, 'applied by the other');
    });
  });
});
