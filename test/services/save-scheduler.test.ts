import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  SaveScheduler,
  type SaveSchedulerOptions,
} from '../../src/services/document-store/save-scheduler';
import type { StoredSnapshot } from '../../src/services/document-store/document-store';

/**
 * The scheduler against a store kept in a Map that keeps only newer seqs (the
 * store's contract) and can be switched to failing; time is vitest's fake clock.
 */
class Harness {
  readonly stored = new Map<string, StoredSnapshot>();
  readonly current = new Map<string, number>();
  readonly saved: Array<{ doc: string; seq: number; at: number }> = [];
  readonly logs: Array<{ level: string; msg: string }> = [];
  writes = 0;
  inFlight = 0;
  maxInFlight = 0;
  broken = false;
  writeMs = 5;
  /** Documents another process is writing now (readSnapshot answers busy). */
  readonly busy = new Set<string>();
  /** Per document: the seq another process already stored. */
  readonly storedElsewhere = new Map<string, number>();
  readonly scheduler: SaveScheduler;

  constructor(overrides: Partial<SaveSchedulerOptions> = {}) {
    const log = (level: string) => (_obj: unknown, msg?: string) => {
      this.logs.push({ level, msg: msg ?? '' });
    };
    this.scheduler = new SaveScheduler({
      store: {
        save: async (doc, snapshot) => {
          this.writes++;
          this.inFlight++;
          this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
          await new Promise((r) => setTimeout(r, this.writeMs));
          this.inFlight--;
          if (this.broken) throw new Error('connect ECONNREFUSED 127.0.0.1:5432');
          const old = this.stored.get(doc);
          if (old && old.seq >= snapshot.seq) return false;
          this.stored.set(doc, snapshot);
          return true;
        },
      },
      readSnapshot: async (doc) => {
        const seq = this.current.get(doc);
        if (seq === undefined) return { kind: 'gone' };
        if (this.busy.has(doc)) return { kind: 'busy' };
        const elsewhere = this.storedElsewhere.get(doc) ?? 0;
        if (seq <= elsewhere) return { kind: 'stored', seq: elsewhere };
        return {
          kind: 'snapshot',
          snapshot: { epoch: 'e1', seq, state: { n: { [doc]: { seq } } } },
        };
      },
      onSaved: (doc, seq) => this.saved.push({ doc, seq, at: Date.now() }),
      debounceMs: 2000,
      maxDelayMs: 10000,
      concurrency: 4,
      retry: { initialMs: 100, maxMs: 5000 },
      log: { info: log('info'), warn: log('warn'), error: log('error') } as never,
      random: () => 0.5,
      ...overrides,
    });
  }

  edit(doc: string): void {
    const seq = (this.current.get(doc) ?? 0) + 1;
    this.current.set(doc, seq);
    this.scheduler.notify(doc, seq);
  }
}

describe('SaveScheduler', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 1_000_000 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('stores a document once it has been quiet for the debounce time', async () => {
    const h = new Harness();
    const t0 = Date.now();
    h.edit('a');
    await vi.advanceTimersByTimeAsync(1000);
    h.edit('a');
    await vi.advanceTimersByTimeAsync(1000);
    h.edit('a');
    await vi.advanceTimersByTimeAsync(1990);
    expect(h.writes).toBe(0);
    expect(h.scheduler.hasUnsaved('a')).toBe(true);
    await vi.advanceTimersByTimeAsync(100);
    expect(h.writes).toBe(1);
    expect(h.stored.get('a')?.seq).toBe(3);
    // Due at t0 + 4000; written in the next turn (a fake millisecond), for 5 ms.
    expect(h.saved).toEqual([{ doc: 'a', seq: 3, at: t0 + 4000 + 1 + 5 }]);
    expect(h.scheduler.hasUnsaved('a')).toBe(false);
    expect(h.scheduler.stats()).toMatchObject({ pendingDocuments: 0, saves: 1, failures: 0 });
  });

  it('stores at least every max delay while edits keep coming', async () => {
    const h = new Harness();
    const edits: Array<{ seq: number; at: number }> = [];
    for (let i = 0; i < 50; i++) {
      h.edit('busy');
      edits.push({ seq: h.current.get('busy') ?? 0, at: Date.now() });
      await vi.advanceTimersByTimeAsync(500);
    }
    // 25 s of edits every 500 ms: never quiet, yet every edit is stored within the max delay
    // (plus the turn it waits to start and the 5 ms write).
    expect(h.saved.length).toBeGreaterThanOrEqual(2);
    for (const edit of edits.filter((e) => e.seq <= (h.saved.at(-1)?.seq ?? 0))) {
      const first = h.saved.find((s) => s.seq >= edit.seq);
      expect(first, `edit ${edit.seq}`).toBeDefined();
      expect((first?.at ?? Infinity) - edit.at, `edit ${edit.seq}`).toBeLessThanOrEqual(
        10_000 + 1 + 5,
      );
    }
    expect(h.scheduler.stats().oldestUnsavedAgeMs).toBeLessThanOrEqual(10_000);
  });

  it('stores again when edits come during a write', async () => {
    const h = new Harness();
    h.writeMs = 1000;
    h.edit('a');
    await vi.advanceTimersByTimeAsync(2500); // the write started at 2000 and runs until 3000
    h.edit('a');
    await vi.advanceTimersByTimeAsync(600);
    expect(h.stored.get('a')?.seq).toBe(1);
    expect(h.scheduler.hasUnsaved('a')).toBe(true);
    await vi.advanceTimersByTimeAsync(3000);
    expect(h.stored.get('a')?.seq).toBe(2);
    expect(h.saved.map((s) => s.seq)).toEqual([1, 2]);
    expect(h.scheduler.hasUnsaved('a')).toBe(false);
  });

  it('writes at most `concurrency` snapshots at once', async () => {
    const h = new Harness({ concurrency: 3 });
    h.writeMs = 50;
    for (let i = 0; i < 20; i++) h.edit(`d${i}`);
    await vi.advanceTimersByTimeAsync(2000 + 20 * 50);
    expect(h.stored.size).toBe(20);
    expect(h.maxInFlight).toBe(3);
  });

  it('writes many documents in batched writes where the store takes several at once', async () => {
    const batches: number[] = [];
    const h: Harness = new Harness({
      concurrency: 2,
      store: {
        save: () => Promise.reject(new Error('one at a time is not used here')),
        saveMany: async (snapshots) => {
          batches.push(snapshots.length);
          h.inFlight++;
          h.maxInFlight = Math.max(h.maxInFlight, h.inFlight);
          await new Promise((r) => setTimeout(r, 50));
          h.inFlight--;
          for (const { doc, snapshot } of snapshots) h.stored.set(doc, snapshot);
        },
      },
    });
    for (let i = 0; i < 450; i++) h.edit(`d${i}`);
    await vi.advanceTimersByTimeAsync(2000 + 5 * 50);
    expect(h.stored.size).toBe(450);
    expect(h.saved).toHaveLength(450);
    expect(batches.reduce((a, b) => a + b, 0)).toBe(450);
    expect(Math.max(...batches)).toBe(100);
    expect(batches.length).toBe(5);
    expect(h.maxInFlight).toBe(2);
    expect(h.scheduler.stats().pendingDocuments).toBe(0);
  });

  it('keeps a whole failed batch pending and counts it as one failure', async () => {
    let down = true;
    const h: Harness = new Harness({
      store: {
        save: async (doc, snapshot) => {
          if (down) throw new Error('connect ECONNREFUSED');
          h.stored.set(doc, snapshot);
          return true;
        },
        saveMany: async (snapshots) => {
          if (down) throw new Error('connect ECONNREFUSED');
          for (const { doc, snapshot } of snapshots) h.stored.set(doc, snapshot);
        },
      },
    });
    for (let i = 0; i < 50; i++) h.edit(`d${i}`);
    await vi.advanceTimersByTimeAsync(2010);
    expect(h.scheduler.stats()).toMatchObject({ pendingDocuments: 50, failures: 1 });
    expect(h.logs.filter((l) => l.level === 'error')).toHaveLength(1);
    down = false;
    await vi.advanceTimersByTimeAsync(10_000);
    expect(h.stored.size).toBe(50);
    expect(h.scheduler.stats().pendingDocuments).toBe(0);
  });

  it('flushes every pending snapshot on close, without waiting for the debounce', async () => {
    const h = new Harness();
    for (let i = 0; i < 10; i++) h.edit(`d${i}`);
    const closing = h.scheduler.close(5000);
    await vi.advanceTimersByTimeAsync(100);
    await expect(closing).resolves.toEqual([]);
    expect(h.stored.size).toBe(10);
    expect(h.scheduler.close(5000)).toBe(closing);
    h.edit('late');
    await vi.advanceTimersByTimeAsync(20_000);
    expect(h.stored.has('late')).toBe(false);
  });

  it('logs one line per outage, probes with backoff, and stores everything on recovery', async () => {
    const h = new Harness();
    h.broken = true;
    for (let i = 0; i < 50; i++) h.edit(`d${i}`);
    await vi.advanceTimersByTimeAsync(2000 + 60_000);
    const errors = h.logs.filter((l) => l.level === 'error');
    expect(errors).toHaveLength(1);
    expect(errors[0]?.msg).toMatch(/document store unavailable/);
    // The first batch fails together, then one probe per backoff step (capped at 5 s).
    expect(h.writes).toBeLessThan(4 + 25);
    const during = h.scheduler.stats();
    expect(during.pendingDocuments).toBe(50);
    expect(during.failures).toBe(h.writes);
    expect(during.outage?.reason).toMatch(/ECONNREFUSED/);
    expect(during.oldestUnsavedAgeMs).toBeGreaterThanOrEqual(60_000);
    expect(h.saved).toHaveLength(0);

    h.broken = false;
    await vi.advanceTimersByTimeAsync(6000);
    expect(h.stored.size).toBe(50);
    expect(h.logs.filter((l) => l.level === 'info' && /recovered/.test(l.msg))).toHaveLength(1);
    expect(h.scheduler.stats()).toMatchObject({ pendingDocuments: 0, outage: null });
  });

  it('keeps edits made during an outage and stores their latest seq', async () => {
    const h = new Harness();
    h.edit('a');
    await vi.advanceTimersByTimeAsync(2100);
    h.broken = true;
    for (let i = 0; i < 5; i++) {
      h.edit('a');
      await vi.advanceTimersByTimeAsync(3000);
    }
    expect(h.stored.get('a')?.seq).toBe(1);
    h.broken = false;
    await vi.advanceTimersByTimeAsync(10_000);
    expect(h.stored.get('a')?.seq).toBe(6);
    expect(h.saved.at(-1)?.seq).toBe(6);
  });

  it('gives up at the close deadline while the store is down and names the unsaved documents', async () => {
    const h = new Harness();
    h.broken = true;
    h.edit('x');
    h.edit('y');
    const closing = h.scheduler.close(3000);
    await vi.advanceTimersByTimeAsync(3100);
    expect((await closing).sort()).toEqual(['x', 'y']);
    expect(h.logs.filter((l) => l.level === 'error').map((l) => l.msg)).toEqual([
      expect.stringMatching(/document store unavailable/),
      expect.stringMatching(/stopping with document snapshots not stored/),
    ]);
  });

  it('drops a document this process no longer has, with a warning', async () => {
    const h = new Harness();
    h.edit('a');
    h.current.delete('a');
    await vi.advanceTimersByTimeAsync(2100);
    expect(h.scheduler.hasUnsaved('a')).toBe(false);
    expect(h.logs.some((l) => l.level === 'warn' && /gone/.test(l.msg))).toBe(true);
  });

  it('tries again after the debounce while another process writes the document, then stores it', async () => {
    const h = new Harness();
    h.busy.add('a');
    h.edit('a');
    await vi.advanceTimersByTimeAsync(2100);
    expect(h.writes).toBe(0);
    expect(h.scheduler.hasUnsaved('a')).toBe(true);
    expect(h.scheduler.stats()).toMatchObject({ failures: 0, outage: null });
    await vi.advanceTimersByTimeAsync(2000);
    expect(h.writes).toBe(0);
    h.busy.delete('a');
    await vi.advanceTimersByTimeAsync(2000);
    expect(h.writes).toBe(1);
    expect(h.saved.map((s) => s.seq)).toEqual([1]);
    expect(h.scheduler.hasUnsaved('a')).toBe(false);
  });

  it('writes nothing when another process stored the latest seq already, and keeps newer edits pending', async () => {
    const h = new Harness();
    h.edit('a');
    h.edit('a');
    h.storedElsewhere.set('a', 2);
    await vi.advanceTimersByTimeAsync(2100);
    expect(h.writes).toBe(0);
    expect(h.saved).toEqual([]);
    expect(h.scheduler.hasUnsaved('a')).toBe(false);

    h.edit('a');
    h.storedElsewhere.set('a', 2);
    await vi.advanceTimersByTimeAsync(2100);
    expect(h.writes).toBe(1);
    expect(h.stored.get('a')?.seq).toBe(3);
  });

  it('reports every write duration', async () => {
    const durations: Array<[number, boolean]> = [];
    const h = new Harness({ onSaveLatency: (ms, ok) => durations.push([ms, ok]) });
    h.writeMs = 40;
    h.edit('a');
    await vi.advanceTimersByTimeAsync(2100);
    expect(durations).toEqual([[40, true]]);
    expect(h.scheduler.stats().lastLatencyMs).toBe(40);
  });
});
