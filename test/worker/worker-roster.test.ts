import { describe, expect, it } from 'vitest';
import { WorkerRoster } from '../../src/worker/worker-roster';
import { liveWorkers } from '../../src/app/start-worker';

function roster(self: string, live: string[] | (() => Promise<string[]>), now = () => 0) {
  return new WorkerRoster({
    self,
    readLive: typeof live === 'function' ? live : () => Promise.resolve(live),
    refreshMs: 1000,
    departedForMs: 30_000,
    graceMs: 1000,
    now,
  });
}

const docs = Array.from({ length: 1000 }, (_, i) => `doc-${i}`);

describe('the worker roster', () => {
  it('gives every document exactly one preferred worker, the same in every worker, about evenly', async () => {
    const a = roster('a', ['a', 'b']);
    const b = roster('b', ['b', 'a']);
    await Promise.all([a.refresh(), b.refresh()]);
    let toA = 0;
    for (const doc of docs) {
      expect(a.prefers(doc)).toBe(!b.prefers(doc));
      if (a.prefers(doc)) toA++;
    }
    expect(toA).toBeGreaterThan(400);
    expect(toA).toBeLessThan(600);
  });

  it('moves only the documents of a worker that joins or leaves', async () => {
    const two = roster('a', ['a', 'b']);
    const three = roster('a', ['a', 'b', 'c']);
    await Promise.all([two.refresh(), three.refresh()]);
    // A document a keeps with c present was a's before: c takes some of a's, gives none.
    for (const doc of docs) if (three.prefers(doc)) expect(two.prefers(doc)).toBe(true);
  });

  it('answers every document while this worker is not in the roster (not read yet, or not beating yet)', async () => {
    const r = roster('a', ['b', 'c']);
    expect(docs.every((doc) => r.prefers(doc))).toBe(true);
    await r.refresh();
    expect(docs.every((doc) => r.prefers(doc))).toBe(true);
  });

  it('takes a departed worker out at once, until its heartbeat had time to go stale', async () => {
    let now = 0;
    const r = roster('a', ['a', 'b'], () => now);
    await r.refresh();
    expect(docs.every((doc) => r.prefers(doc))).toBe(false);
    r.depart('b');
    expect(docs.every((doc) => r.prefers(doc))).toBe(true);
    now = 30_001;
    await r.refresh();
    expect(docs.every((doc) => r.prefers(doc))).toBe(false);
  });

  it('keeps the last roster when the registry cannot be read', async () => {
    let fail = false;
    const r = roster('a', () =>
      fail ? Promise.reject(new Error('Redis down')) : Promise.resolve(['a', 'b']),
    );
    await r.refresh();
    fail = true;
    await r.refresh();
    expect(r.present()).toEqual(['a', 'b']);
  });

  it('counts the processes that run a worker and beat within 3 s', () => {
    const stats = {
      connections: 0,
      nodes: [
        { node: 'w1', role: 'worker', connections: 0, documents: 0, updatedAt: 10_000 },
        { node: 'w2', role: 'worker', connections: 0, documents: 0, updatedAt: 6_000 },
        { node: 'g1', role: 'gateway', connections: 5, documents: 1, updatedAt: 10_000 },
        { node: 'a1', role: 'all', connections: 0, documents: 0, updatedAt: 9_000 },
      ],
    };
    expect(liveWorkers(stats, 10_500)).toEqual(['w1', 'a1']);
    expect(liveWorkers(null)).toEqual([]);
  });
});
