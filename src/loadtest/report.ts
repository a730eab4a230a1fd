import type { CheckResult } from './checker';
import type { FaultResult } from './faults';
import type { LatencySummary } from './latency';
import type { MachineInfo } from './machine';

/** The JSON report of one run (--report FILE) and what the summary table shows. */
export interface LoadReport {
  version: 1;
  ok: boolean;
  startedAt: string;
  finishedAt: string;
  runId: string;
  machine: MachineInfo;
  /** Load averages at the end of the run (the start is in `machine`). */
  loadAverageEnd: number[];
  setup: {
    urls: string[];
    clients: number;
    docs: number;
    members: number;
    memberships: number;
    threads: number;
    opSize: number;
    rampUpS: number;
    durationS: number;
    /** Offered op messages per second, all clients together. */
    rate: number;
    presenceRate: number;
    /** Time to connect every client and join every document. */
    setupMs: number;
  };
  /** Per second over the measured window (after the ramp-up). */
  rates: { offered: number; acked: number; delivered: number };
  totals: {
    created: number;
    sent: number;
    acked: number;
    delivered: number;
    resent: number;
    dupAcks: number;
    /** Duplicate acks for op messages sent only once (PROTOCOL.md expects them for resends). */
    dupAcksUnprompted: number;
    maxInFlight: number;
    /** Op messages unanswered when the measured window began and ended: a growing backlog means saturation. */
    inFlightAtWindowStart: number;
    inFlightAtWindowEnd: number;
    /** Op messages still unanswered when the drain ended. */
    unansweredAfterDrain: number;
    presenceSent: number;
    presenceReceived: number;
  };
  latencyMs: { ack: LatencySummary; fanout: LatencySummary; sendLag: LatencySummary };
  errors: Record<string, number>;
  reconnects: number;
  disconnects: number;
  generator: {
    /** CPU cores the whole load tester process used over the window (all threads). */
    cpuCores: number;
    userS: number;
    systemS: number;
    threads: Array<{ thread: number; cpuCores: number | null; elu: number }>;
    /** True when a generator thread was so busy that it may have limited the run. */
    clientBound: boolean;
    /** True when the generator sent more than 20 ms behind schedule at p99 (busy, or starved of CPU). */
    behindSchedule: boolean;
    note: string;
  };
  faults: FaultResult[];
  check: CheckResult;
}

const fmt = (n: number, digits = 2) =>
  Number.isNaN(n) ? '-' : n.toLocaleString('en-US', { maximumFractionDigits: digits });
const pad = (text: string, width: number) => text.padStart(width);
/** Milliseconds: two decimals below 100, whole above. */
const fmtMs = (n: number) => fmt(n, n < 100 ? 2 : 0);

function latencyRow(name: string, s: LatencySummary): string {
  const cells = [s.p50, s.p90, s.p99, s.p999, s.max].map((v) => pad(fmtMs(v), 10));
  return `  ${name.padEnd(10)}${cells.join('')}${pad(s.count.toLocaleString('en-US'), 11)}`;
}

/** The summary table printed at the end of a run. */
export function formatSummary(report: LoadReport): string {
  const { setup, rates, totals, latencyMs, generator, check } = report;
  const lines: string[] = [];
  lines.push(
    `Flow load test ${report.runId}: ${setup.clients} clients on ${setup.urls.length} gateway URL(s), ` +
      `${setup.docs} documents x ${setup.members} clients, ${fmt(setup.rate)} op/s offered ` +
      `for ${setup.durationS} s after a ${setup.rampUpS} s ramp-up, ${setup.threads} thread(s)`,
  );
  lines.push(
    `  setup ${fmt(setup.setupMs / 1000)} s; load average ${report.machine.loadAverage.join(' ')} -> ${report.loadAverageEnd.join(' ')} on ${report.machine.cores} cores`,
  );
  lines.push('');
  lines.push(`  ${''.padEnd(10)}${pad('offered', 12)}${pad('acked', 12)}${pad('delivered', 12)}`);
  lines.push(
    `  ${'ops/s'.padEnd(10)}${pad(fmt(rates.offered, 1), 12)}${pad(fmt(rates.acked, 1), 12)}${pad(fmt(rates.delivered, 1), 12)}`,
  );
  lines.push('');
  lines.push(
    `  ${'ms'.padEnd(10)}${['p50', 'p90', 'p99', 'p99.9', 'max'].map((h) => pad(h, 10)).join('')}${pad('count', 11)}`,
  );
  lines.push(latencyRow('ack', latencyMs.ack));
  lines.push(latencyRow('fan-out', latencyMs.fanout));
  lines.push(latencyRow('send lag', latencyMs.sendLag));
  lines.push('');
  lines.push(
    `  in flight: ${totals.inFlightAtWindowStart} -> ${totals.inFlightAtWindowEnd} over the window, max ${totals.maxInFlight}, unanswered after drain ${totals.unansweredAfterDrain}; ` +
      `resent ${totals.resent}, duplicate acks ${totals.dupAcks} (${totals.dupAcksUnprompted} for ops sent once); reconnects ${report.reconnects} ` +
      `(connections lost ${report.disconnects}); presence sent ${totals.presenceSent}, received ${totals.presenceReceived}`,
  );
  const errors = Object.entries(report.errors);
  lines.push(
    `  errors: ${errors.length === 0 ? 'none' : errors.map(([code, n]) => `${code} ${n}`).join(', ')}`,
  );
  const threads = generator.threads
    .map(
      (t) =>
        `#${t.thread} ${t.cpuCores === null ? '?' : fmt(t.cpuCores)} cores, loop ${fmt(t.elu * 100, 0)}% busy`,
    )
    .join('; ');
  lines.push(
    `  generator CPU: ${fmt(generator.cpuCores)} cores (user ${fmt(generator.userS, 1)} s, system ${fmt(generator.systemS, 1)} s); ${threads}`,
  );
  if (generator.note) lines.push(`  ${generator.note}`);
  for (const f of report.faults) {
    lines.push(
      `  fault at ${f.atS} s (ran at ${fmt(f.startedS, 1)} s): exit ${f.exitCode ?? f.signal ?? 'not started'}: ${f.command}`,
    );
  }
  lines.push('');
  if (check.ok) {
    lines.push(
      `  checker: OK: ${check.documents} documents, ${check.histories} client histories, ` +
        `${check.entries.toLocaleString('en-US')} entries, ${check.seqs.toLocaleString('en-US')} seqs`,
    );
  } else {
    const counts = Object.entries(check.counts)
      .map(([kind, n]) => `${kind} ${n}`)
      .join(', ');
    lines.push(`  checker: FAILED, ${check.total} anomalies: ${counts}`);
    for (const a of check.anomalies.slice(0, 20)) {
      lines.push(`    ${a.kind} ${a.doc}${a.client ? ` ${a.client}` : ''}: ${a.detail}`);
    }
    if (check.total > 20) lines.push(`    ... ${check.total - 20} more in the JSON report`);
  }
  return lines.join('\n');
}

/** One progress line: figures of the last second. */
export function formatProgress(p: {
  elapsedS: number;
  phase: string;
  offered: number;
  acked: number;
  delivered: number;
  inFlight: number;
  ackP50Ms: number;
  ackP99Ms: number;
  errors: number;
  reconnects: number;
  elu: number[];
}): string {
  return (
    `${pad(p.elapsedS.toFixed(0), 4)}s ${p.phase.padEnd(7)} offered ${pad(fmt(p.offered, 0), 7)}/s ` +
    `acked ${pad(fmt(p.acked, 0), 7)}/s delivered ${pad(fmt(p.delivered, 0), 8)}/s ` +
    `in flight ${pad(String(p.inFlight), 6)} ack p50 ${fmt(p.ackP50Ms)} p99 ${fmt(p.ackP99Ms)} ms ` +
    `errors ${p.errors} reconnects ${p.reconnects} threads busy ${p.elu.map((e) => `${(e * 100).toFixed(0)}%`).join(' ')}`
  );
}
