/** Tables of benchmark results: plain text for the terminal, Markdown for BENCHMARKS.md. */
import type { ScenarioResult } from './cluster-bench';

const n0 = (v: number | undefined) =>
  v === undefined || Number.isNaN(v) ? '-' : Math.round(v).toLocaleString('en-US');
const ms = (v: number | undefined) =>
  v === undefined || Number.isNaN(v) ? '-' : v < 10 ? v.toFixed(2) : v.toFixed(1);

export const COLUMNS = [
  'setup',
  'scenario',
  'docs',
  'clients x per doc',
  'offered op/s',
  'acked op/s',
  'in flight start -> end',
  'delivered/s',
  'ack p50 ms',
  'ack p99 ms',
  'ack max ms',
  'fan-out p50 ms',
  'fan-out p99 ms',
  'send lag p99 ms',
  'generator CPU',
  'machine CPU busy',
  'server+Redis CPU ms / 1k ops',
  'CPU ms / 1k deliveries',
  'check',
  'Redis conns / worker',
];

/** One row per scenario, in COLUMNS order. */
export function rows(results: readonly ScenarioResult[]): string[][] {
  return results.map((r) => {
    const rep = r.report;
    const workers = (r.connections ?? []).filter((c) => c.process.includes('worker'));
    const conns = workers.length > 0 ? workers.map((c) => String(c.total)).join(' / ') : '-';
    if (!rep) {
      const failed = [r.mode, r.scenario.label, String(r.scenario.docs), '-', n0(r.scenario.rate)];
      while (failed.length < COLUMNS.length - 2) failed.push('-');
      return [...failed, 'run failed', conns];
    }
    const anomalies = rep.check.ok
      ? 'OK'
      : `${rep.check.total} anomalies (${Object.entries(rep.check.counts)
          .map(([k, v]) => `${k} ${v}`)
          .join(', ')})`;
    return [
      r.mode,
      r.scenario.label,
      n0(rep.setup.docs),
      `${rep.setup.clients} x ${rep.setup.members}`,
      n0(rep.rates.offered),
      n0(rep.rates.acked),
      `${n0(rep.totals.inFlightAtWindowStart)} -> ${n0(rep.totals.inFlightAtWindowEnd)}`,
      n0(rep.rates.delivered),
      ms(rep.latencyMs.ack.p50),
      ms(rep.latencyMs.ack.p99),
      ms(rep.latencyMs.ack.max),
      ms(rep.latencyMs.fanout.p50),
      ms(rep.latencyMs.fanout.p99),
      ms(rep.latencyMs.sendLag.p99),
      `${rep.generator.cpuCores.toFixed(2)} cores${rep.generator.clientBound ? ' (client-bound?)' : ''}`,
      percent(r.machineBusy),
      ...cpuPerThousand(r),
      anomalies,
      conns,
    ];
  });
}

const percent = (v: number | undefined) => (v === undefined ? '-' : `${Math.round(v * 100)}%`);

/** Server (and Redis) CPU ms over the window per 1,000 acked ops and per 1,000 deliveries. */
export function cpuPerThousand(r: ScenarioResult): [string, string] {
  return [ms(cpuMsPerThousand(r, 'acked')), ms(cpuMsPerThousand(r, 'delivered'))];
}

function cpuMsPerThousand(r: ScenarioResult, of: 'acked' | 'delivered'): number | undefined {
  const rep = r.report;
  if (!rep || !r.cpuMs) return undefined;
  const total = Object.values(r.cpuMs).reduce((a, b) => a + b, 0);
  const rate = rep.rates[of];
  return rate > 0 ? (total / (rate * rep.setup.durationS)) * 1000 : undefined;
}

/** What a latency figure was measured on: how busy the whole machine was. */
function onMachine(r: ScenarioResult): string {
  return r.machineBusy === undefined ? '' : `; machine CPU ${percent(r.machineBusy)} busy`;
}

/**
 * The arithmetic under a missed rate or latency aim: the cores the server
 * and Redis need for `rate` at the CPU per acked op measured, with the
 * generator's, against the machine's. A sum near or over the machine's
 * cores means the aim cannot be met here at that cost per op.
 */
function cpuBudget(r: ScenarioResult, rate: number): string {
  const perThousand = cpuMsPerThousand(r, 'acked');
  const rep = r.report;
  if (perThousand === undefined || !rep) return '';
  const server = (perThousand * rate) / 1e6;
  const generator = rep.generator.cpuCores;
  return (
    `; at ${ms(perThousand)} CPU ms per 1,000 acked ops, ${n0(rate)} op/s needs ${server.toFixed(2)} cores ` +
    `for the server and Redis, and the generator used ${generator.toFixed(2)}: ` +
    `${(server + generator).toFixed(2)} of the ${rep.machine.cores} cores`
  );
}

/** The CPU of each process group over the window, for the notes under a table. */
export function cpuNotes(results: readonly ScenarioResult[]): string[] {
  return results
    .filter((r) => r.cpuMs)
    .map(
      (r) =>
        `${r.mode} ${r.scenario.label}: ${Object.entries(r.cpuMs ?? {})
          .map(([group, cpu]) => `${group} ${n0(cpu)} ms`)
          .join(', ')} over the ${r.scenario.durationS} s window`,
    );
}

/**
 * Redis commands per acked op over the window, the busiest first, for the
 * notes under a table (commands run inside scripts are counted as well).
 */
export function redisCallNotes(results: readonly ScenarioResult[]): string[] {
  const notes: string[] = [];
  for (const r of results) {
    const rep = r.report;
    if (!rep || !r.redisCalls) continue;
    const acked = rep.rates.acked * rep.setup.durationS;
    if (acked <= 0) continue;
    const perOp = Object.entries(r.redisCalls)
      .map(([name, calls]) => [name, calls / acked] as const)
      .sort((a, b) => b[1] - a[1]);
    const total = perOp.reduce((sum, [, n]) => sum + n, 0);
    const shown = perOp
      .filter(([, n]) => n >= 0.05)
      .map(([name, n]) => `${name} ${n.toFixed(2)}`)
      .join(', ');
    notes.push(
      `${r.mode} ${r.scenario.label}: ${total.toFixed(2)} Redis calls per acked op (${shown})`,
    );
  }
  return notes;
}

export function textTable(header: readonly string[], body: readonly string[][]): string {
  const widths = header.map((h, i) =>
    Math.max(h.length, ...body.map((row) => (row[i] ?? '').length)),
  );
  const line = (cells: readonly string[]) =>
    cells.map((c, i) => (i < 4 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
}

export function markdownTable(header: readonly string[], body: readonly string[][]): string {
  const line = (cells: readonly string[]) =>
    `| ${cells.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`;
  return [
    line(header),
    line(header.map((_, i) => (i < 4 ? '---' : '---:'))),
    ...body.map(line),
  ].join('\n');
}

/** Each worker's connections by name, for the notes under a table. */
export function connectionNotes(results: readonly ScenarioResult[]): string[] {
  const notes: string[] = [];
  for (const r of results) {
    for (const c of r.connections ?? []) {
      const names = Object.entries(c.byName)
        .map(([name, count]) => `${name} ${count}`)
        .join(', ');
      notes.push(
        `${r.mode} ${r.scenario.label}: ${c.process} (pid ${c.pid}) held ${c.total} Redis connections (${names})`,
      );
    }
  }
  return notes;
}

/** The aims of the cluster benchmark, each with what was measured, per setup. */
export function aims(results: readonly ScenarioResult[]): string[] {
  const lines: string[] = [];
  const modes = [...new Set(results.map((r) => r.mode))];
  for (const mode of modes) {
    const mine = results.filter((r) => r.mode === mode && r.report);
    if (mine.length === 0) continue;
    const top = mine.reduce((a, b) =>
      (b.report?.rates.acked ?? 0) > (a.report?.rates.acked ?? 0) ? b : a,
    );
    const best = top.report?.rates.acked ?? 0;
    const t = top.report?.totals;
    lines.push(
      `${mode}: >= 20,000 op/s acked: ${best >= 20_000 ? 'met' : 'NOT met'}, best ${n0(best)} op/s acked ` +
        `(${top.scenario.label}, ${n0(top.report?.rates.offered)} offered; in flight ${n0(t?.inFlightAtWindowStart)} -> ${n0(t?.inFlightAtWindowEnd)} over the window)` +
        (best >= 20_000 ? '' : cpuBudget(top, 20_000)),
    );
    const cpu = mine
      .map((r) => `${r.scenario.label} ${cpuPerThousand(r)[0]}`)
      .filter((text) => !text.endsWith(' -'));
    if (cpu.length > 0)
      lines.push(`${mode}: server+Redis CPU ms per 1,000 acked ops: ${cpu.join(', ')}`);
    const at5000 = mine.filter((r) => r.scenario.rate === 5000 && r.scenario.docs === 100);
    for (const r of at5000) {
      const p99 = r.report?.latencyMs.ack.p99 ?? NaN;
      lines.push(
        `${mode}: p99 ack <= 50 ms at 5,000 op/s (100 documents): ${p99 <= 50 ? 'met' : 'NOT met'}, p99 ${ms(p99)} ms (acked ${n0(r.report?.rates.acked)} op/s${onMachine(r)}${p99 <= 50 ? '' : cpuBudget(r, 5000)})`,
      );
    }
    for (const r of mine.filter((x) => x.scenario.docs >= 10_000)) {
      const rep = r.report;
      const p99 = rep?.latencyMs.ack.p99 ?? NaN;
      // Keeping up: nearly every offered op acked in the window, and no tail of seconds.
      const keptUp = (rep?.rates.acked ?? 0) >= 0.98 * (rep?.rates.offered ?? Infinity);
      const met = keptUp && p99 <= 100;
      lines.push(
        `${mode}: ${n0(r.scenario.docs)} documents at ${n0(r.scenario.rate)} op/s keep up with p99 ack <= 100 ms (${r.scenario.label}): ` +
          `${met ? 'met' : 'NOT met'}, acked ${n0(rep?.rates.acked)} of ${n0(rep?.rates.offered)} op/s offered, ` +
          `in flight ${n0(rep?.totals.inFlightAtWindowStart)} -> ${n0(rep?.totals.inFlightAtWindowEnd)}, p99 ${ms(p99)} ms${onMachine(r)}` +
          (met ? '' : cpuBudget(r, r.scenario.rate)),
      );
    }
    const workers = mine.flatMap((r) =>
      r.scenario.docs >= 10_000
        ? (r.connections ?? []).filter((c) => c.process.includes('worker'))
        : [],
    );
    if (workers.length > 0) {
      const most = Math.max(...workers.map((c) => c.total));
      lines.push(
        `${mode}: <= 16 Redis connections per worker at 10,000 live documents: ${most <= 16 ? 'met' : 'NOT met'}, at most ${most}`,
      );
    }
  }
  const ratio = cpuRatioAim(results, 'bullmq', 'inproc', 1.3);
  if (ratio) lines.push(ratio);
  return lines;
}

/**
 * Server+Redis CPU per acked op of `mode` against `reference` in the same
 * run, scenario by scenario: the aim is at most `limit` times the reference.
 */
export function cpuRatioAim(
  results: readonly ScenarioResult[],
  mode: string,
  reference: string,
  limit: number,
): string | undefined {
  const parts: string[] = [];
  for (const r of results.filter((x) => x.mode === mode)) {
    const ref = results.find((x) => x.mode === reference && x.scenario.label === r.scenario.label);
    const mine = cpuMsPerThousand(r, 'acked');
    const theirs = ref && cpuMsPerThousand(ref, 'acked');
    if (mine === undefined || theirs === undefined) continue;
    const times = mine / theirs;
    parts.push(`${r.scenario.label} ${times.toFixed(2)}x (${times <= limit ? 'met' : 'NOT met'})`);
  }
  if (parts.length === 0) return undefined;
  return `${mode}: server+Redis CPU per acked op <= ${limit} x ${reference}'s in the same run: ${parts.join(', ')}`;
}
