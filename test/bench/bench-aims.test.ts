import { describe, expect, it } from 'vitest';
import { aims, cpuRatioAim, rows, COLUMNS } from '../../bench/bench-format';
import { clusterScenarios } from '../../bench/cluster';
import type { ScenarioResult } from '../../bench/cluster-bench';
import { machineBusyBetween, sampleMachineCpu } from '../../bench/process-cpu';
import type { LoadReport } from '../../src/loadtest/report';

/** A scenario's result with only what the tables read. */
function result(
  mode: string,
  docs: number,
  rate: number,
  figures: {
    acked: number;
    p99: number;
    cpuMs: number;
    inFlight?: [number, number];
    busy?: number;
  },
): ScenarioResult {
  const durationS = 6;
  const latency = { p50: figures.p99 / 2, p99: figures.p99, max: figures.p99 * 2 };
  const report = {
    ok: true,
    setup: { docs, clients: 200, members: 2, durationS },
    rates: { offered: rate, acked: figures.acked, delivered: figures.acked },
    totals: {
      inFlightAtWindowStart: figures.inFlight?.[0] ?? 0,
      inFlightAtWindowEnd: figures.inFlight?.[1] ?? 0,
    },
    latencyMs: { ack: latency, fanout: latency, sendLag: latency },
    generator: { cpuCores: 0.3, clientBound: false },
    machine: { cores: 2 },
    check: { ok: true, total: 0, counts: {} },
  } as unknown as LoadReport;
  return {
    mode,
    scenario: {
      label: `${docs}-docs`,
      docs,
      clients: 200,
      members: 2,
      rate,
      durationS,
      rampUpS: 2,
      threads: 2,
    },
    command: 'node dist/loadtest/cli.js',
    report,
    exitCode: 0,
    cpuMs: { gateways: figures.cpuMs },
    ...(figures.busy !== undefined ? { machineBusy: figures.busy } : {}),
  };
}

describe('benchmark aims', () => {
  // 12,000 ops acked in the window; CPU per 1,000 acked ops = cpuMs / 12.
  const inproc = result('inproc', 10_000, 2000, { acked: 2000, p99: 40, cpuMs: 7200 });

  it('compares CPU per acked op with the reference mode of the same run, scenario by scenario', () => {
    const within = result('bullmq', 10_000, 2000, { acked: 2000, p99: 80, cpuMs: 9000 });
    const over = result('bullmq', 10_000, 2000, { acked: 2000, p99: 80, cpuMs: 9600 });
    expect(cpuRatioAim([within, inproc], 'bullmq', 'inproc', 1.3)).toBe(
      "bullmq: server+Redis CPU per acked op <= 1.3 x inproc's in the same run: 10000-docs 1.25x (met)",
    );
    expect(cpuRatioAim([over, inproc], 'bullmq', 'inproc', 1.3)).toContain(
      '10000-docs 1.33x (NOT met)',
    );
    // No reference in the run: no ratio to claim.
    expect(cpuRatioAim([within], 'bullmq', 'inproc', 1.3)).toBeUndefined();
  });

  it('says 10,000 documents keep up only when nearly all offered ops are acked within p99 100 ms', () => {
    const fast = result('bullmq', 10_000, 2000, { acked: 1990, p99: 90, cpuMs: 9000 });
    const behind = result('bullmq', 10_000, 2000, {
      acked: 1772,
      p99: 95,
      cpuMs: 9000,
      inFlight: [201, 1547],
      busy: 0.97,
    });
    const slow = result('bullmq', 10_000, 2000, { acked: 2000, p99: 150, cpuMs: 9000 });
    const line = (r: ScenarioResult) => aims([r]).find((l) => l.includes('keep up')) ?? '';
    expect(line(fast)).toContain('keep up with p99 ack <= 100 ms (10000-docs): met');
    expect(line(behind)).toBe(
      'bullmq: 10,000 documents at 2,000 op/s keep up with p99 ack <= 100 ms (10000-docs): NOT met, acked 1,772 of 2,000 op/s offered, in flight 201 -> 1,547, p99 95.0 ms; machine CPU 97% busy; at 846.5 CPU ms per 1,000 acked ops, 2,000 op/s needs 1.69 cores for the server and Redis, and the generator used 0.30: 1.99 of the 2 cores',
    );
    expect(line(slow)).toContain('NOT met');
  });

  it('says how many cores a missed rate or latency aim needs at the measured CPU per op', () => {
    // 12,000 ops acked in 6 s at 9,000 CPU ms: 750 ms per 1,000 ops, 1.5 cores at 2,000 op/s.
    const behind = result('bullmq', 10_000, 2000, {
      acked: 2000,
      p99: 150,
      cpuMs: 9000,
      busy: 0.99,
    });
    expect(aims([behind]).find((l) => l.includes('keep up'))).toContain(
      'p99 150.0 ms; machine CPU 99% busy; at 750.0 CPU ms per 1,000 acked ops, 2,000 op/s needs 1.50 cores for the server and Redis, and the generator used 0.30: 1.80 of the 2 cores',
    );
    // The peak: 66,000 ops acked at 9,000 CPU ms, 136.4 ms per 1,000; 20,000 op/s needs 2.73 cores.
    const peak = result('bullmq', 100, 20_000, { acked: 11_000, p99: 3000, cpuMs: 9000 });
    expect(aims([peak]).find((l) => l.includes('>= 20,000'))).toContain(
      'at 136.4 CPU ms per 1,000 acked ops, 20,000 op/s needs 2.73 cores for the server and Redis, and the generator used 0.30: 3.03 of the 2 cores',
    );
    // A met aim needs no arithmetic.
    const fast = result('bullmq', 10_000, 2000, { acked: 2000, p99: 40, cpuMs: 9000 });
    expect(aims([fast]).find((l) => l.includes('keep up'))).not.toContain('cores');
  });

  it('shows how busy the machine was in the table', () => {
    const busy = result('bullmq', 100, 5000, { acked: 5000, p99: 60, cpuMs: 9000, busy: 0.964 });
    const column = COLUMNS.indexOf('machine CPU busy');
    expect(rows([busy])[0]?.[column]).toBe('96%');
    expect(rows([inproc])[0]?.[column]).toBe('-');
  });
});

describe('machine CPU', () => {
  it('reads the busy share of all cores between two samples', async () => {
    const start = sampleMachineCpu();
    expect(start).not.toBeNull();
    const until = Date.now() + 50;
    while (Date.now() < until); // keep one core busy
    await new Promise((resolve) => setTimeout(resolve, 20));
    const busy = machineBusyBetween(start, sampleMachineCpu());
    expect(busy).toBeGreaterThan(0);
    expect(busy).toBeLessThanOrEqual(1);
    expect(machineBusyBetween({ busy: 5, total: 10 }, { busy: 8, total: 14 })).toBe(0.75);
    expect(machineBusyBetween(null, start)).toBeUndefined();
  });
});

describe('the cluster scenarios', () => {
  it('measure 10,000 documents twice: going live, and once every membership has sent', () => {
    const scenarios = clusterScenarios({
      docs: [100, 10_000],
      rate: 5000,
      manyDocsRate: 2000,
      peakRate: 0,
      durationS: 6,
    });
    expect(scenarios.map((s) => s.label)).toEqual(['100-docs', '10000-docs', '10000-docs-warm']);
    // 20,000 memberships over 2 threads at 1,000 op/s each: a ramp from 0 sends 10,000 in 20 s.
    expect(scenarios[2]).toMatchObject({
      docs: 10_000,
      members: 2,
      threads: 2,
      rate: 2000,
      rampUpS: 20,
    });
  });
});
