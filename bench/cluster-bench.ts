/**
 * The cluster benchmark, shared by `npm run bench:cluster` (bench/cluster.ts)
 * and `npm run bench` (bench/run-all.ts): a 3-node Redis Cluster of its own,
 * Flow gateways and workers as separate processes, and the load tester CLI
 * (`node dist/loadtest/cli.js`) against them, one scenario at a time.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { LoadReport } from '../src/loadtest/report';
import { startRedisClusterProcesses } from '../test/support/redis-processes';
import type { RedisEndpoint } from '../test/support/redis-types';
import {
  ROOT,
  countRedisConnections,
  cpuProfileArgs,
  startFlowProcess,
  stopFlowProcess,
  type ConnectionCount,
  type FlowProcessHandle,
} from './cluster-processes';
import {
  cpuBetween,
  machineBusyBetween,
  sampleCpu,
  sampleMachineCpu,
  type CpuSample,
} from './process-cpu';
import { statsBetween, sampleCommandCalls, type CommandCalls } from './redis-commands';
import { BENCH_LIMITS, MODE_FLAGS, MODE_TITLES, type ClusterMode } from './cluster-modes';

export interface Scenario {
  label: string;
  docs: number;
  clients: number;
  members: number;
  rate: number;
  durationS: number;
  rampUpS: number;
  threads: number;
  /** Count the workers' (and gateways') Redis connections in the middle of the measured window. */
  countConnections?: boolean;
  drainTimeoutS?: number;
  /** --fault arguments of the load tester ("<seconds>s:<shell command>"). */
  faults?: string[];
}

export interface ScenarioResult {
  mode: string;
  scenario: Scenario;
  /** The load tester command line, as run. */
  command: string;
  report: LoadReport | null;
  exitCode: number | null;
  error?: string;
  connections?: ConnectionCount[];
  /** CPU ms of the server processes (and Redis) over the measured window, per group. */
  cpuMs?: CpuSample;
  /** The share of the whole machine's CPU busy over the measured window, 0 to 1. */
  machineBusy?: number;
  /** Redis commands run over the measured window, by name (INFO commandstats of every node). */
  redisCalls?: CommandCalls;
}

/** An argument as a POSIX shell would need it, for the command lines printed. */
function shellQuote(arg: string): string {
  return /^[\w./:=,@+-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Runs the load tester CLI once; counts connections mid-window when asked. */
export async function runScenario(
  mode: string,
  scenario: Scenario,
  urls: string[],
  resultDir: string,
  log: (line: string) => void,
  counted: { processes: FlowProcessHandle[]; nodes: RedisEndpoint[] } | null,
  /** Processes whose CPU time over the measured window is reported, by group (gateways, redis...). */
  cpuGroups: Record<string, readonly number[]> = {},
): Promise<ScenarioResult> {
  const reportFile = path.join(resultDir, `${mode}-${scenario.label}.json`);
  fs.rmSync(reportFile, { force: true });
  const args = [
    'dist/loadtest/cli.js',
    ...urls.flatMap((url) => ['--url', url]),
    '--clients',
    String(scenario.clients),
    '--docs',
    String(scenario.docs),
    '--members',
    String(scenario.members),
    '--rate',
    String(scenario.rate),
    '--duration',
    String(scenario.durationS),
    '--ramp-up',
    String(scenario.rampUpS),
    '--threads',
    String(scenario.threads),
    '--drain-timeout',
    String(scenario.drainTimeoutS ?? 60),
    '--report',
    path.relative(ROOT, reportFile),
    '--no-progress',
    ...(scenario.faults ?? []).flatMap((fault) => ['--fault', fault]),
  ];
  const command = `node ${args.map(shellQuote).join(' ')}`;
  log(`\n[${mode}] ${scenario.label}: ${command}`);
  // Fault commands find the processes of this benchmark by these variables
  // (BENCH_PID_BULLMQ_WORKER_1=...), never by a pattern that could match others' processes.
  const pids: Record<string, string> = {};
  for (const p of counted?.processes ?? []) {
    pids[`BENCH_PID_${p.name.toUpperCase().replace(/-/g, '_')}`] = String(p.pid);
  }
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { ...process.env, ...pids },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (chunk: Buffer) => {
    output += chunk.toString();
    process.stderr.write(chunk);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));

  let connections: ConnectionCount[] | undefined;
  let cpuMs: CpuSample | undefined;
  let machineBusy: number | undefined;
  let redisCalls: CommandCalls | undefined;
  const countNow = Boolean(counted && scenario.countConnections);
  if (countNow || Object.keys(cpuGroups).length > 0) {
    // The load starts after setup (joins); "joined" on stderr marks it.
    const started = Date.now();
    while (!/clients joined/.test(output) && child.exitCode === null) {
      if (Date.now() - started > 180_000) break;
      await sleep(100);
    }
    await sleep(scenario.rampUpS * 1000);
    const windowStart = sampleCpu(cpuGroups);
    const machineStart = sampleMachineCpu();
    const callsStart = counted ? await sampleCommandCalls(counted.nodes).catch(() => null) : null;
    const windowEnd = Date.now() + scenario.durationS * 1000;
    await sleep((scenario.durationS / 2) * 1000);
    if (counted && countNow && child.exitCode === null) {
      connections = await countRedisConnections(counted.processes, counted.nodes).catch(
        (err: unknown) => {
          log(`could not count connections: ${String(err)}`);
          return undefined;
        },
      );
    }
    await sleep(Math.max(0, windowEnd - Date.now()));
    if (child.exitCode === null) {
      cpuMs = cpuBetween(windowStart, sampleCpu(cpuGroups));
      machineBusy = machineBusyBetween(machineStart, sampleMachineCpu());
      // A node down at the end (a fault run) leaves the figure out, not the run.
      const callsEnd =
        counted && callsStart ? await sampleCommandCalls(counted.nodes).catch(() => null) : null;
      if (callsStart && callsEnd) redisCalls = statsBetween(callsStart, callsEnd);
    }
  }
  const exitCode = await exited;
  let report: LoadReport | null;
  try {
    report = JSON.parse(fs.readFileSync(reportFile, 'utf8')) as LoadReport;
  } catch {
    report = null;
  }
  return {
    mode,
    scenario,
    command,
    report,
    exitCode,
    ...(report ? {} : { error: `no report (exit ${exitCode}): ${output.slice(-500)}` }),
    ...(connections ? { connections } : {}),
    ...(cpuMs ? { cpuMs } : {}),
    ...(machineBusy !== undefined ? { machineBusy } : {}),
    ...(redisCalls ? { redisCalls } : {}),
  };
}

export interface ClusterBenchOptions {
  modes: ClusterMode[];
  scenarios: Scenario[];
  resultDir: string;
  log: (line: string) => void;
  /** Write a CPU profile of every Flow process to this directory (cpuProfileArgs). */
  cpuProfileDir?: string;
}

export interface ClusterBenchResult {
  results: ScenarioResult[];
  redis: RedisEndpoint[];
  /** The environment and commands of the Flow processes, per mode. */
  processCommands: Record<string, string[]>;
}

/** Starts a Redis Cluster, then each mode's processes in turn, and runs every scenario. */
export async function runClusterBench(options: ClusterBenchOptions): Promise<ClusterBenchResult> {
  const { log, resultDir } = options;
  fs.mkdirSync(resultDir, { recursive: true });
  log('starting a 3-node Redis Cluster (redis-server from PATH, ports 17000-21999)');
  const cluster = await startRedisClusterProcesses();
  const nodes = cluster.nodes;
  const redisPids = cluster.pids ?? [];
  log(`Redis Cluster on ${nodes.map((n) => n.port).join(', ')}`);
  const results: ScenarioResult[] = [];
  const processCommands: Record<string, string[]> = {};
  let running: FlowProcessHandle[] = [];
  const stopAll = async () => {
    await Promise.all(running.map((p) => stopFlowProcess(p)));
    running = [];
  };
  const onSignal = () => {
    void stopAll().then(() => cluster.stop().then(() => process.exit(130)));
  };
  process.once('SIGINT', onSignal);
  try {
    for (const mode of options.modes) {
      const env = {
        REDIS_CLUSTER_NODES: nodes.map((n) => `${n.host}:${n.port}`).join(','),
        ...MODE_FLAGS[mode],
        ...BENCH_LIMITS,
      };
      const envText = Object.entries(env)
        .map(([k, v]) => `${k}=${v}`)
        .join(' ');
      const logDir = path.join(resultDir, 'logs');
      const nodeArgs = options.cpuProfileDir ? cpuProfileArgs(options.cpuProfileDir) : [];
      const gateways = await Promise.all(
        [1, 2].map((i) =>
          startFlowProcess(`${mode}-gateway-${i}`, 'gateway', env, logDir, nodeArgs),
        ),
      );
      running.push(...gateways);
      const workers =
        mode === 'bullmq'
          ? await Promise.all(
              [1, 2].map((i) =>
                startFlowProcess(`${mode}-worker-${i}`, 'worker', env, logDir, nodeArgs),
              ),
            )
          : [];
      running.push(...workers);
      processCommands[mode] = [
        ...gateways.map((g) => `${envText} PORT=${g.port} node dist/cli.js gateway`),
        ...workers.map(() => `${envText} node dist/cli.js worker`),
      ];
      log(
        `[${mode}] ${MODE_TITLES[mode]}: started ${running.map((p) => `${p.name} (pid ${p.pid})`).join(', ')}`,
      );
      const urls = gateways.map((g) => `ws://127.0.0.1:${g.port}/ws`);
      for (const scenario of options.scenarios) {
        const counted = { processes: [...workers, ...gateways], nodes };
        const cpuGroups = {
          gateways: gateways.map((g) => g.pid),
          workers: workers.map((w) => w.pid),
          redis: redisPids,
        };
        results.push(await runScenario(mode, scenario, urls, resultDir, log, counted, cpuGroups));
      }
      await stopAll();
    }
  } finally {
    process.off('SIGINT', onSignal);
    await stopAll();
    await cluster.stop();
  }
  return { results, redis: nodes, processCommands };
}
