/**
 * `npm run bench`: the standard scenarios, written to BENCHMARKS.md.
 *
 * 1. One process with everything in memory (`node dist/cli.js all`).
 * 2. A 3-node Redis Cluster of its own, 2 gateways + 2 workers with BullMQ
 *    ordering, then 2 gateways with in-process ordering (bench/cluster-bench.ts).
 *
 * Each scenario is one run of the load tester CLI (`node dist/loadtest/cli.js`);
 * its JSON report goes to bench-results/ (not committed). About 6-8 minutes on
 * a 2-core machine.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as prettier from 'prettier';
import { machineInfo } from '../src/loadtest/machine';
import {
  COLUMNS,
  aims,
  connectionNotes,
  cpuNotes,
  redisCallNotes,
  markdownTable,
  rows,
  textTable,
} from './bench-format';
import { runClusterBench, runScenario, type ScenarioResult } from './cluster-bench';
import { BENCH_LIMITS, MODE_TITLES } from './cluster-modes';
import { ROOT, buildIfNeeded, startFlowProcess, stopFlowProcess } from './cluster-processes';
import { clusterScenarios } from './cluster';
import { benchArgs } from './bench-args';

const SCENARIOS = {
  docs: [1, 100, 10_000],
  rate: 5000,
  manyDocsRate: 2000,
  peakRate: 20_000,
  durationS: 6,
};

async function memoryRuns(resultDir: string, log: (line: string) => void) {
  const env = {
    USE_REDIS_WEBSOCKETS: 'false',
    USE_REDIS_COLLABORATION: 'false',
    USE_REDIS_EVENT_ORDERING: 'false',
    ...BENCH_LIMITS,
  };
  const server = await startFlowProcess('memory-all', 'all', env, path.join(resultDir, 'logs'));
  const results: ScenarioResult[] = [];
  try {
    const url = `ws://127.0.0.1:${server.port}/ws`;
    for (const scenario of clusterScenarios(SCENARIOS)) {
      results.push(
        await runScenario('memory', scenario, [url], resultDir, log, null, {
          server: [server.pid],
        }),
      );
    }
  } finally {
    await stopFlowProcess(server);
  }
  const envText = Object.entries(env)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  return { results, commands: [`${envText} PORT=${server.port} node dist/cli.js all`] };
}

function markdown(input: {
  started: Date;
  finished: Date;
  machine: ReturnType<typeof machineInfo>;
  loadEnd: number[];
  results: ScenarioResult[];
  processCommands: Record<string, string[]>;
}): string {
  const { machine, results } = input;
  const minutes = ((input.finished.getTime() - input.started.getTime()) / 60_000).toFixed(1);
  const out: string[] = [];
  out.push('# Benchmarks', '');
  out.push(
    `Written by \`npm run bench\` (bench/run-all.ts) on ${input.started.toISOString()}, in ${minutes} minutes. ` +
      'Run it again to replace this file; `npm run bench:cluster` runs the cluster part alone and prints the same table.',
    '',
  );
  out.push('## Machine', '');
  out.push(`- CPU: ${machine.cpuModel}, ${machine.cores} cores`);
  out.push(`- Memory: ${(machine.memoryBytes / 2 ** 30).toFixed(1)} GiB`);
  out.push(`- Node ${machine.node}, ${machine.platform}`);
  out.push(
    `- Load average (1, 5, 15 min): ${machine.loadAverage.join(', ')} at the start, ${input.loadEnd.join(', ')} at the end. ` +
      'The load generator, the Flow processes and Redis all share these cores, and other work on the machine may have run at the same time.',
  );
  out.push('', '## Command', '', '```', 'npm run bench', '```', '');
  out.push('## Results', '');
  for (const mode of Object.keys(MODE_TITLES)) {
    if (results.some((r) => r.mode === mode)) out.push(`- **${mode}**: ${MODE_TITLES[mode]}`);
  }
  out.push('', markdownTable(COLUMNS, rows(results)), '');
  out.push('### Aims (2-core machine)', '');
  for (const line of aims(results)) out.push(`- ${line}`);
  out.push('', '### CPU of the server processes over each measured window', '');
  for (const note of cpuNotes(results)) out.push(`- ${note}`);
  out.push('', '### Redis commands per acked op over each measured window', '');
  for (const note of redisCallNotes(results)) out.push(`- ${note}`);
  out.push('', '### Redis connections held by each process at the largest document count', '');
  for (const note of connectionNotes(results)) out.push(`- ${note}`);
  out.push('', '## How the figures are measured', '');
  out.push(
    '- Open loop: each generator thread creates op messages at the offered rate by the clock and never waits for acks; a server that falls behind shows as latency and a growing number of op messages in flight, not as a lower offered rate.',
    '- Latency is measured from the time each op message was due to be sent (not when it was written), so a stalled generator cannot hide latency. Ack latency: due -> ack at the sender. Fan-out latency: due -> event at each other client of the document (the due time travels inside the op; all threads read the same monotonic clock).',
    "- The generator sends each client's ops to its documents in turn. At 10,000 documents one turn takes 10 s, so in `10000-docs` every op of the window is the first or second its document gets: it creates the document's keys in Redis (and in BullMQ mode its queue), which measures documents going live. `10000-docs-warm` ramps up until every membership has sent an op (20 s), then measures 10,000 live documents.",
    '- Rates and percentiles cover the measured window only (after the ramp-up); acked/s counts acks received in the window, so it can exceed the offered rate while a backlog from the ramp-up drains. "in flight start -> end" is the number of op messages unanswered when the window began and ended: a count that grows means the setup could not keep up with the offered rate, and its acked/s is then its capacity on this machine.',
    '- After the window the generator stops, waits for every op message to be answered, fetches `GET /docs/:doc` for every document and lets the checker verify one order per document, no gap or duplicate, cseq order, acked ops kept, and every client replica equal to the server state. `check` says OK only when the checker found nothing.',
    '- "generator CPU" is the load tester process over the window (all its threads); "(client-bound?)" marks a run where a generator thread was over 85% busy. "send lag" is how late the generator wrote op messages against their schedule: a high value with idle threads means the machine had no CPU for the generator either, and the latencies include that wait.',
    '- Runs on a shared 2-core machine vary from one run to the next, the tail latencies most: compare runs made under similar load averages.',
    '- Server CPU: user + system time of every Flow process and redis-server the benchmark started (`/proc/<pid>/stat`), read at the start and the end of the measured window, divided by the ops acked (and the deliveries made) in it. The load tester is not included (see "generator CPU").',
    '- "machine CPU busy" is the share of both cores busy over the window (`/proc/stat`): everything on the machine, the generator included. Near 100%, the setup ran out of CPU: its latencies include the wait for a core, and its rates are what this machine can give, not what the setup could do with CPU to spare. Each aim line about latency names it.',
    "- Under a missed rate or latency aim, its arithmetic: the cores the server and Redis need for the aim's rate at the CPU per acked op measured, plus the generator's, against the machine's cores. A sum near or over them means the aim cannot be met on this machine at that cost per op. In a run that fell behind, the CPU spent on ops still unanswered at the end of the window counts against the ops acked, so the figure is too high there.",
    '- Redis commands: `INFO commandstats` of every cluster node at the start and the end of the measured window, divided by the ops acked in it. Commands that Lua scripts run are counted under their own names besides the `evalsha` that ran them.',
    '- Redis connections are the established TCP connections from each process to the cluster nodes (`/proc/<pid>/fd` and `/proc/net/tcp`), named by `CLIENT LIST` on every node.',
    `- Server limits raised for the load: ${Object.entries(BENCH_LIMITS)
      .map(([k, v]) => `\`${k}=${v}\``)
      .join(', ')}.`,
    '',
  );
  out.push('## Commands run', '');
  for (const [mode, commands] of Object.entries(input.processCommands)) {
    out.push(`${MODE_TITLES[mode] ?? mode}:`, '', '```');
    for (const c of commands) out.push(c);
    for (const r of results.filter((x) => x.mode === mode)) out.push(r.command);
    out.push('```', '');
  }
  return out.join('\n');
}

/** The part of BENCHMARKS.md that `npm run bench` keeps when it rewrites the file. */
const KEPT_HEADING = '## Other measurements';

async function main(): Promise<void> {
  // No options: the scenarios are the standard ones (bench:cluster takes options).
  benchArgs(
    {
      name: 'bench',
      command: 'npm run bench --',
      about:
        'Runs the standard scenarios (one in-memory process, then BullMQ and in-process ordering on a 3-node Redis Cluster of its own) and writes BENCHMARKS.md. Its scenarios take no options; npm run bench:cluster -- --help lists those of the cluster part alone.',
    },
    {},
  );
  const log = (line: string) => process.stderr.write(`${line}\n`);
  buildIfNeeded(log);
  const started = new Date();
  const machine = machineInfo();
  const resultDir = path.join(
    ROOT,
    'bench-results',
    `bench-${started.toISOString().replace(/[:.]/g, '-')}`,
  );
  fs.mkdirSync(resultDir, { recursive: true });

  log(`[memory] ${MODE_TITLES.memory}`);
  const memory = await memoryRuns(resultDir, log);
  const cluster = await runClusterBench({
    modes: ['bullmq', 'inproc'],
    scenarios: clusterScenarios(SCENARIOS),
    resultDir,
    log,
  });
  const results = [...memory.results, ...cluster.results];
  const processCommands = { memory: memory.commands, ...cluster.processCommands };
  const text = markdown({
    started,
    finished: new Date(),
    machine,
    loadEnd: os.loadavg().map((n) => Math.round(n * 100) / 100),
    results,
    processCommands,
  });
  // Formatted as `npm run lint` (prettier --check .) expects it.
  const file = path.join(ROOT, 'BENCHMARKS.md');
  const config = (await prettier.resolveConfig(file)) ?? {};
  // Figures of other scripts (soak, fuzz, ...) are recorded by hand under this heading: keep them.
  const previous = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
  const kept = previous.indexOf(KEPT_HEADING);
  const whole = kept === -1 ? text : `${text}\n\n${previous.slice(kept)}`;
  fs.writeFileSync(file, await prettier.format(whole, { ...config, filepath: file }));
  console.log(`\n${textTable(COLUMNS, rows(results))}\n`);
  for (const line of aims(results)) console.log(line);
  console.log(`\nBENCHMARKS.md written; JSON reports in ${path.relative(ROOT, resultDir)}`);
  if (results.some((r) => !r.report?.ok)) process.exitCode = 1;
}

main().catch((err: unknown) => {
  console.error('bench failed:', err);
  process.exit(1);
});
