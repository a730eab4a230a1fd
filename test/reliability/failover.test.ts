import { describe, expect, it } from 'vitest';
import { formatSummary } from '../../src/loadtest/report';
import { runFailover, type FailoverResult } from './failover-scenario';

/**
 * A Redis Cluster master killed with SIGKILL (3 masters + 3 replicas,
 * cluster-node-timeout 3000) while clients write through 2 gateways and 2
 * workers: the service must recover by itself, within RECOVERY_BOUND_MS, and
 * lose no acked op message. Redis replicates asynchronously, so a write
 * acked just before the kill could in principle be missing on the promoted
 * replica; this test would say so (docs/operations.md has the measured
 * figures and the settings that narrow that window).
 *
 * The default variant writes with probe clients only (about 20 s). With
 * FLOW_LONG_TESTS=1 a second variant runs the load tester beside them, whose
 * checker verifies every client's history too (about 45 s).
 * bench/failover-cluster.ts runs the same scenario from the command line.
 */
const RECOVERY_BOUND_MS = 30_000;
const long = process.env.FLOW_LONG_TESTS === '1';

function report(result: FailoverResult): string {
  const { load, ...rest } = result;
  return JSON.stringify({ ...rest, load: load && formatSummary(load) }, null, 2);
}

function expectRecoveredWithoutLoss(result: FailoverResult): void {
  const context = report(result);
  console.info(context);
  expect(result.victim.docs.length, context).toBeGreaterThan(0);
  // The service recovered by itself, within the bound, on every document.
  expect(result.recoveryAllMs, context).not.toBeNull();
  expect(result.recoveryAllMs as number, context).toBeLessThan(RECOVERY_BOUND_MS);
  // It recovered because the cluster did: not long after the promotion.
  expect(result.recoveryMs as number).toBeLessThan(result.clusterFailoverMs + 5_000);
  // Nothing acked was lost, nothing applied twice, no history reset, no gap.
  expect(result.verdict.lost, context).toEqual([]);
  expect(result.verdict.appliedTwice).toBe(0);
  expect(result.verdict.epochChanges).toBe(0);
  expect(result.verdict.holes).toBe(0);
  expect(result.verdict.unreadable).toEqual({});
  // UNAVAILABLE means nothing was applied: its resend is applied, not a duplicate.
  expect(result.verdict.unavailableButApplied).toBe(0);
  expect(result.acked).toBeGreaterThan(100);
  // The outage is logged once per connection, not once per reconnection
  // attempt (it was ~400 error lines per process before connection-log.ts
  // stopped "Connection is closed." from undoing the dedupe).
  for (const [process, lines] of Object.entries(result.errorLines))
    expect(lines, `${process} logged ${lines} error lines`).toBeLessThan(40);
}

describe('Redis Cluster master failover (kill -9) under writes', () => {
  it('recovers by itself within 30 s and loses no acked op (probe writers)', async () => {
    const result = await runFailover({
      docs: 6,
      intervalMs: 20,
      beforeKillMs: 2_000,
      afterRecoveryMs: 1_000,
      recoveryBoundMs: RECOVERY_BOUND_MS,
    });
    expectRecoveredWithoutLoss(result);
  }, 90_000);

  // Registered only with FLOW_LONG_TESTS=1 (about 35 s more): not part of the default run.
  if (long) {
    it('the same under the load tester, whose checker finds no anomaly (FLOW_LONG_TESTS=1)', async () => {
      const result = await runFailover({
        docs: 9,
        intervalMs: 20,
        beforeKillMs: 4_000,
        afterRecoveryMs: 3_000,
        recoveryBoundMs: RECOVERY_BOUND_MS,
        loadRate: 150,
        loadDurationS: 20,
      });
      expectRecoveredWithoutLoss(result);
      const load = result.load;
      expect(load).not.toBeNull();
      expect(load?.check.anomalies).toEqual([]);
      expect(load?.ok).toBe(true);
      expect(load?.totals.unansweredAfterDrain).toBe(0);
      expect(load?.latencyMs.ack.max ?? Infinity).toBeLessThan(RECOVERY_BOUND_MS);
    }, 150_000);
  }
});
