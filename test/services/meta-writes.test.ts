import { describe, expect, it } from 'vitest';
import { MetaWrites } from '../../src/services/event-ordering/meta-writes';

describe("a gateway's record of the queue meta it wrote", () => {
  it('writes again once half the key TTL has passed since its write', () => {
    const writes = new MetaWrites(60);
    expect(writes.due('d', 0)).toBe(true);
    expect(writes.due('d', 29_999)).toBe(false);
    expect(writes.due('d', 30_000)).toBe(true);
    expect(writes.due('d', 30_001)).toBe(false);
    expect(writes.due('e', 30_001)).toBe(true);
  });

  it('writes once when the keys never expire (REDIS_SESSION_TTL=0)', () => {
    const writes = new MetaWrites(0);
    expect(writes.due('d', 0)).toBe(true);
    expect(writes.due('d', 1e12)).toBe(false);
  });
});
