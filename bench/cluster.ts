/**
 * `npm run bench:cluster`: a 3-node Redis Cluster of its own (redis-server
 * from PATH, free ports in 17000-21999), then 2 gateways + 2 workers with
 * BullMQ ordering, then 2 gateways with in-process ordering; for each, the
 * load tester against 1, 100 and 10,000 documents at one offered rate,
 * 10,000 documents again once every one of them is live, and a peak run at a
 * higher rate. Prints op/s acked, ack and fan-out latency, and
 * the Redis connections each worker holds at 10,000 live documents; stops
 * everything it started. Result files go to bench-results/ (not committed).
 *
 * Crash runs: `--fault "<seconds>s:<command>"` (repeatable) goes to every load
 * test; the command sees the pids of this benchmark's processes as
 * BENCH_PID_<MODE>_<ROLE>_<N>, e.g.
 *   npm run bench:cluster -- --modes bullmq --docs 100 --peak-rate 0 \
 *     --fault '3s:kill -9 $BENCH_PID_BULLMQ_WORKER_1'
 */
import path from 'node:path';
import { machineInfo } from '../src/loadtest/machine';
import { benchArgs, benchUsageError } from './bench-args';
import {
  COLUMNS,
  aims,
  connectionNotes,
  cpuNotes,
  redisCallNotes,
  rows,
  textTable,
} from './bench-format';
import { runClusterBench, type Scenario } from './cluster-bench';
import type { ClusterMode } from './cluster-modes';
import { ROOT, buildIfNeeded } from './cluster-processes';

export interface ClusterScenarioOptions {
  docs: number[];
  rate: number;
  /** The rate of the runs with 10,000 documents or more. */
  manyDocsRate: number;
  peakRate: number;
  durationS: number;
  /** --fault arguments passed to every run. */
  faults?: string[];
}

/**
 * The standard scenarios: each document count at `rate` (`manyDocsRate` from
 * 10,000 documents on), those of 10,000 documents or more again once their
 * documents are live, then a peak run at 100 documents. Open loop: a setup
 * slower than the offered rate builds a backlog that must drain before the
 * check, so the many-documents rate is lower to keep the whole run bounded.
 */
export function clusterScenarios(o: ClusterScenarioOptions): Scenario[] {
  const scenarios: Scenario[] = o.docs.map((docs) => {
    // Fan-out costs the generator as much as the server: fewer clients per document as documents grow.
    const shape =
      docs === 1
        ? { clients: 10, members: 10 }
        : docs <= 1000
          ? { clients: 200, members: 4 }
          : { clients: Math.max(200, Math.ceil((docs * 2) / 40)), members: 2 };
    return {
      label: `${docs}-docs`,
      docs,
      ...shape,
      rate: docs >= 10_000 ? o.manyDocsRate : o.rate,
      durationS: o.durationS,
      rampUpS: 2,
      threads: 2,
      countConnections: docs >= 10_000 || docs === Math.max(...o.docs),
      faults: o.faults ?? [],
    };
  });
  // Each count of 10,000 documents or more again, measured once every
  // document is live. The generator sends each membership's ops in turn, so in
  // the scenario above every op of the window is the first or second its
  // document gets (it creates the document's keys, and in BullMQ mode its
  // queue). Here the ramp-up lasts until each membership has sent once: a
  // linear ramp from 0 sends rate * seconds / 2 ops.
  const warm = scenarios
    .filter((cold) => cold.docs >= 10_000)
    .map((cold) => ({
      ...cold,
      label: `${cold.label}-warm`,
      rampUpS: Math.ceil((2 * cold.docs * cold.members) / cold.rate),
      countConnections: false,
    }));
  scenarios.push(...warm);
  if (o.peakRate > 0) {
    scenarios.push({
      label: 'peak-100-docs',
      docs: 100,
      clients: 200,
      members: 2,
      rate: o.peakRate,
      durationS: Math.max(3, Math.round((o.durationS * 2) / 3)),
      rampUpS: 1,
      threads: 2,
      faults: o.faults ?? [],
    });
  }
  return scenarios;
}

const SCRIPT = {
  name: 'bench:cluster',
  command: 'npm run bench:cluster --',
  about:
    'Runs the load tester against 2 gateways + 2 workers (BullMQ ordering) and 2 gateways ' +
    '(in-process ordering) on a 3-node Redis Cluster of its own, and prints the figures.',
};

export function parseClusterArgs(argv: string[]): ClusterScenarioOptions & {
  modes: ClusterMode[];
  cpuProfileDir?: string;
} {
  const values = benchArgs(
    SCRIPT,
    {
      modes: {
        type: 'string',
        default: 'bullmq,inproc',
        help: 'bullmq and/or inproc, comma-separated',
      },
      docs: {
        type: 'string',
        default: '1,100,10000',
        help: 'document counts of the scenarios, comma-separated',
      },
      rate: {
        type: 'string',
        default: '5000',
        help: 'op/s offered to 1 and 100 documents',
        number: { min: 1 },
      },
      'many-docs-rate': {
        type: 'string',
        default: '2000',
        help: 'op/s offered to 10,000 documents',
        number: { min: 1 },
      },
      'peak-rate': {
        type: 'string',
        default: '20000',
        help: 'op/s offered in the peak run; 0 leaves it out',
        number: { min: 0 },
      },
      duration: {
        type: 'string',
        default: '6',
        help: 'seconds measured per scenario',
        number: { min: 1 },
      },
      fault: {
        type: 'string',
        multiple: true,
        default: [],
        help: '"<seconds>s:<command>" run during every load test',
      },
      'cpu-prof': {
        type: 'string',
        help: 'write a CPU profile of every Flow process to this directory when it stops',
      },
    },
    argv,
  );
  const modes = values.modes.split(',').map((m) => m.trim());
  for (const m of modes) {
    if (m !== 'bullmq' && m !== 'inproc')
      benchUsageError(SCRIPT, `--modes takes bullmq and/or inproc, not "${m}"`);
  }
  const docs = values.docs.split(',').map(Number);
  if (docs.some((n) => !Number.isInteger(n) || n < 1))
    benchUsageError(
      SCRIPT,
      `--docs takes whole numbers of at least 1, comma-separated, not "${values.docs}"`,
    );
  return {
    modes: modes as ClusterMode[],
    docs,
    rate: Number(values.rate),
    manyDocsRate: Number(values['many-docs-rate']),
    peakRate: Number(values['peak-rate']),
    durationS: Number(values.duration),
    faults: values.fault,
    ...(values['cpu-prof'] ? { cpuProfileDir: values['cpu-prof'] } : {}),
  };
}

async function main(): Promise<void> {
  const args = parseClusterArgs(process.argv.slice(2));
  const log = (line: string) => process.stderr.write(`${line}\n`);
  buildIfNeeded(log);
  const machine = machineInfo();
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const { results, processCommands } = await runClusterBench({
    modes: args.modes,
    scenarios: clusterScenarios(args),
    resultDir: path.join(ROOT, 'bench-results', `cluster-${stamp}`),
    log,
    ...(args.cpuProfileDir ? { cpuProfileDir: args.cpuProfileDir } : {}),
  });
  console.log(
    `\nFlow cluster benchmark, ${new Date().toISOString()}: ${machine.cores} cores (${machine.cpuModel}), ` +
      `${(machine.memoryBytes / 2 ** 30).toFixed(0)} GiB, Node ${machine.node}; load average at start ${machine.loadAverage.join(' ')}`,
  );
  for (const [mode, commands] of Object.entries(processCommands)) {
    console.log(`${mode}:\n${commands.map((c) => `  ${c}`).join('\n')}`);
  }
  console.log(`\n${textTable(COLUMNS, rows(results))}\n`);
  for (const note of cpuNotes(results)) console.log(note);
  console.log('');
  for (const note of redisCallNotes(results)) console.log(note);
  console.log('');
  for (const note of connectionNotes(results)) console.log(note);
  console.log('');
  for (const line of aims(results)) console.log(line);
  const failed = results.filter((r) => !r.report?.ok);
  if (failed.length > 0) {
    console.log(`\n${failed.length} run(s) failed or found anomalies: see the JSON reports.`);
    process.exitCode = 1;
  }
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error('bench:cluster failed:', err);
    process.exit(1);
  });
}
