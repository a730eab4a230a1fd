import { describe, expect, it } from 'vitest';
import { useRedisServers } from '../support/redis-harness';
import { runSimulation } from './simulation/fault-simulation';

/**
 * The fault simulation: a short seeded run in every test run; set
 * FLOW_LONG_TESTS=1 (and SIM_SECONDS, SIM_SEED) for a longer one.
 */
const long = process.env.FLOW_LONG_TESTS === '1';
const seconds = Number(process.env.SIM_SECONDS ?? (long ? 120 : 8));
const seed = Number(process.env.SIM_SEED ?? 15);

const setups = [
  { name: 'one gateway, in-process ordering', gateways: 1, ordering: 'process' },
  { name: 'two gateways, BullMQ ordering', gateways: 2, ordering: 'queue' },
] as const;

describe.each(setups)('fault simulation, $name', (setup) => {
  const redis = useRedisServers();

  it(
    `keeps every promise of the SDK under faults (seed ${seed}, ${seconds} s)`,
    async () => {
      const report = await runSimulation({
        redis: redis.addresses.single,
        seed,
        seconds,
        clients: long ? 8 : 4,
        docs: long ? 3 : 2,
        gateways: setup.gateways,
        ordering: setup.ordering,
      });
      console.log(
        JSON.stringify({
          setup: setup.name,
          seed,
          seconds,
          ...report,
          findings: report.findings.length,
        }),
      );
      expect(report.findings).toEqual([]);
      expect(report.submits).toBeGreaterThan(seconds * 5);
    },
    (seconds + 60) * 1000,
  );
});
