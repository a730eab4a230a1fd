import { describe, expect, it } from 'vitest';
import { UnackedRefresh } from '../../src/realtime/unacked-refresh';

/** The seconds, from 0 to `untilS`, at which a feed whose oldest op stays unanswered reads its history. */
function readsOver(untilS: number, oldestAt = 0): number[] {
  const refresh = new UnackedRefresh<object>();
  const feed = {};
  const reads: number[] = [];
  for (let s = 0; s <= untilS; s++) if (refresh.due(feed, oldestAt, s * 1000)) reads.push(s);
  return reads;
}

describe('history reads for unanswered ops', () => {
  it('read once 1.5 s after the op, then ever more rarely while the same op waits (at most every 30 s)', () => {
    expect(readsOver(10)).toEqual([2, 5]);
    expect(readsOver(120)).toEqual([2, 5, 11, 23, 47, 77, 107]);
  });

  it('start afresh for the next op once the oldest is answered, and stop when none is left', () => {
    const refresh = new UnackedRefresh<object>();
    const feed = {};
    expect(refresh.due(feed, 0, 2000)).toBe(true);
    expect(refresh.due(feed, 0, 3000)).toBe(false);
    // The op of time 0 answered; the oldest is now one of time 2500.
    expect(refresh.due(feed, 2500, 3500)).toBe(false);
    expect(refresh.due(feed, 2500, 4000)).toBe(true);
    expect(refresh.due(feed, undefined, 5000)).toBe(false);
    expect(refresh.due(feed, 2500, 5000)).toBe(true);
  });

  it('keep a schedule per feed', () => {
    const refresh = new UnackedRefresh<object>();
    const [a, b] = [{}, {}];
    expect(refresh.due(a, 0, 2000)).toBe(true);
    expect(refresh.due(b, 0, 2000)).toBe(true);
    expect(refresh.due(a, 0, 3000)).toBe(false);
  });
});

describe('history reads while answers lag', () => {
  it('reads at 1.5 s when answers are quick, at 1.5 times the lag when they are slow, never later than 10 s', () => {
    const at = (lagMs: number) => {
      const refresh = new UnackedRefresh<object>();
      const feed = {};
      for (let now = 0; now <= 20_000; now += 100) if (refresh.due(feed, 0, now, lagMs)) return now;
      return undefined;
    };
    expect(at(0)).toBe(1500);
    expect(at(3000)).toBe(4500);
    expect(at(60_000)).toBe(10_000);
  });
});
