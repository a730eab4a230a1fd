import { describe, expect, it } from 'vitest';
import type { ScenarioResult } from '../../bench/cluster-bench';
import { redisCallNotes } from '../../bench/bench-format';
import { statsBetween, parseCommandStats } from '../../bench/redis-commands';

/** How the cluster bench turns INFO commandstats into Redis calls per acked op. */

const INFO = [
  '# Commandstats',
  'cmdstat_evalsha:calls=120,usec=900,usec_per_call=7.50,rejected_calls=0,failed_calls=0',
  'cmdstat_spublish:calls=40,usec=80,usec_per_call=2.00,rejected_calls=0,failed_calls=0',
  'cmdstat_info:calls=7,usec=300,usec_per_call=42.86,rejected_calls=0,failed_calls=0',
  'cmdstat_client|setinfo:calls=2,usec=3,usec_per_call=1.50,rejected_calls=0,failed_calls=0',
  '',
].join('\r\n');

describe('Redis calls per op in the cluster bench', () => {
  it('reads the calls of each command from INFO commandstats', () => {
    expect(parseCommandStats(INFO)).toEqual({
      evalsha: 120,
      spublish: 40,
      info: 7,
      'client|setinfo': 2,
    });
  });

  it('reads the microseconds of each command too', () => {
    expect(parseCommandStats(INFO, 'usec')).toMatchObject({ evalsha: 900, spublish: 80 });
  });

  it("counts the calls made between two samples, without the sampler's own", () => {
    const before = { evalsha: 100, spublish: 40, info: 5, 'client|setinfo': 1 };
    const after = { evalsha: 160, spublish: 70, info: 9, 'client|setinfo': 2, zadd: 3 };
    expect(statsBetween(before, after)).toEqual({ evalsha: 60, spublish: 30, zadd: 3 });
  });

  it('prints calls per acked op, the most frequent first, leaving out those under 0.05', () => {
    const result = {
      mode: 'bullmq',
      scenario: { label: '100-docs' },
      report: { rates: { acked: 100 }, setup: { durationS: 6 } },
      redisCalls: { spublish: 600, evalsha: 1200, zrangebyscore: 6 },
    } as unknown as ScenarioResult;
    expect(redisCallNotes([result])).toEqual([
      'bullmq 100-docs: 3.01 Redis calls per acked op (evalsha 2.00, spublish 1.00)',
    ]);
  });
});
