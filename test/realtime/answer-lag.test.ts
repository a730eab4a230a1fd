import { describe, expect, it } from 'vitest';
import { AnswerLag } from '../../src/realtime/answer-lag';

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
