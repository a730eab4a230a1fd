import { describe, expect, it } from 'vitest';
import { AnswerLag } from '../../src/realtime/answer-lag';
import { UnackedRefresh } from '../../src/realtime/unacked-refresh';

describe('AnswerLag', () => {
  it('is the longest recent answer time, forgotten 5 to 10 s later', () => {
    const lag = new AnswerLag();
    expect(lag.recent(0)).toBe(0);
    lag.note(40, 0);
    lag.note(3000, 100);
    lag.note(200, 200);
    expect(lag.recent(1000)).toBe(3000);
    // Still remembered in the next window...
    expect(lag.recent(6000)).toBe(3000);
    // ...and gone in the one after.
    expect(lag.recent(11_000)).toBe(0);
  });

  it('forgets at once what came before a quiet window', () => {
    const lag = new AnswerLag();
    lag.note(3000, 0);
    expect(lag.recent(20_000)).toBe(0);
  });
});

describe('UnackedRefresh with a lag', () => {
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
