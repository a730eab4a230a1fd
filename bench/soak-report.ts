/** The soak run's closing block: Markdown, ready to paste into BENCHMARKS.md. */
import type { MachineInfo } from '../src/loadtest/machine';
import type { RoundResult } from './soak-load';
import type { SeriesSummary } from './soak-memory';

export interface SoakFigures {
  minutes: number;
  warmUp: number;
  reloadEvery: number;
  settings: Record<string, string | undefined>;
  machine: MachineInfo;
  loadAverageEnd: number[];
  rounds: RoundResult[];
  reloads: string[];
  series: SeriesSummary[];
}

const mb = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : '-');
const slope = (n: number | null) => (n === null ? '-' : `${n >= 0 ? '+' : ''}${n.toFixed(1)}`);
const count = (n: number) => n.toLocaleString('en-US');

export function soakReport(f: SoakFigures): string {
  const reports = f.rounds.flatMap((r) => (r.report ? [r.report] : []));
  const acked = reports.reduce((n, r) => n + r.totals.acked, 0);
  const presence = reports.reduce((n, r) => n + r.totals.presenceSent, 0);
  const reconnects = reports.reduce((n, r) => n + r.reconnects, 0);
  const clients = reports.reduce((n, r) => n + r.setup.clients, 0);
  const docs = reports.reduce((n, r) => n + r.setup.docs, 0);
  const bad = f.rounds.filter((r) => !r.report?.check.ok);
  const anomalies: Record<string, number> = {};
  for (const r of reports)
    for (const [kind, n] of Object.entries(r.check.counts))
      anomalies[kind] = (anomalies[kind] ?? 0) + (n ?? 0);
  const verdict =
    bad.length === 0
      ? `OK in all ${f.rounds.length} rounds (no anomaly)`
      : `FOUND anomalies in ${bad.length} of ${f.rounds.length} rounds: ${JSON.stringify(anomalies)}` +
        ` (rounds without a report: ${
          f.rounds
            .filter((r) => !r.report)
            .map((r) => r.round)
            .join(', ') || 'none'
        })`;
  const s = f.settings;
  const options = Object.entries(s)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `--${k} ${v}`)
    .join(' ');
  const lines = [
    `### Soak: ${f.minutes} minutes, 2 gateways + 2 workers under pm2, 3-master Redis Cluster`,
    '',
    '```',
    `npm run soak -- ${options}`,
    '```',
    '',
    `- Run on ${new Date().toISOString().slice(0, 10)}: ${f.machine.cpuModel}, ${f.machine.cores} cores, Node ${f.machine.node}; load average ${f.machine.loadAverage.join(' ')} at the start, ${f.loadAverageEnd.map((n) => n.toFixed(2)).join(' ')} at the end.`,
    `- Load: ${f.rounds.length} rounds of the load tester, each ${s['round-s']} s of ${s.rate} op/s and ${s['presence-rate']} presence updates/s from ${s.clients} new clients on ${s.docs} new documents (${s.members} clients each); the clients leave at the end of their round and the documents expire ${s['session-ttl']} s later (REDIS_SESSION_TTL). In all: ${count(clients)} clients, ${count(docs)} documents, ${count(acked)} op messages acked, ${count(presence)} presence updates, ${count(reconnects)} reconnects.`,
    `- \`pm2 reload gateway\` and \`pm2 reload worker\` every ${f.reloadEvery} minutes: ${f.reloads.length} reloads.`,
    `- Checker: ${verdict}.`,
    `- Slope: least squares over minutes ${f.warmUp} to ${f.minutes} (after the warm-up), one sample a minute. A pm2 instance keeps its name across reloads, and each reload starts its process again lower: the slope is the growth within each process's life (one slope, a level per process), each restarted process's first minute left out.`,
    '',
    `| series | MB at minute ${f.warmUp} | MB at the end | max MB | processes | points | slope MB/hour |`,
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...f.series.map(
      (x) =>
        `| ${x.name} | ${mb(x.startMb)} | ${mb(x.endMb)} | ${mb(x.maxMb)} | ${x.processes} | ${x.points} | ${slope(x.slopeMbPerHour)} |`,
    ),
  ];
  return lines.join('\n');
}
