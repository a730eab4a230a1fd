import { afterEach, describe, expect, it, vi } from 'vitest';
import { StallWatch, type Stall } from '../../src/client/stall-watch';

describe('StallWatch', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('never reports a stall shorter than its threshold, even when the wall clock reads 1 ms less', async () => {
    // Timers run on a monotonic clock that Node rounds to whole ms: one set for
    // 150 ms can fire when Date.now() has moved by only 149.
    let wall = 1_000_000;
    vi.spyOn(Date, 'now').mockImplementation(() => wall);
    const stalls: Stall[] = [];
    const watch = new StallWatch('doc-1', 150, (stall) => stalls.push(stall));
    watch.lost();
    wall += 149;
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(stalls).toHaveLength(1);
    expect(stalls[0]?.forMs).toBe(150);
    watch.reset();
  });
});
