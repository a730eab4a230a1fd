/**
 * `npm run bench:memory`: throughput, ack latency and memory of one Flow
 * process with the in-memory services, driven over loopback WebSockets.
 *
 * The server runs in a child process (`node dist/cli.js all`, or the sources
 * through tsx with --server src); the clients run in worker threads of this
 * process (bench/memory-worker.ts). After a warm-up that is not counted, the
 * run measures for a fixed time, stops sending, waits for every op message to
 * be answered and for every client to reach its document's final seq (read
 * from GET /docs/:doc), then prints one table. It is a benchmark, not a test;
 * it exits 1 when it saw an anomaly (a seq gap, repeat, error, close, ...).
 *
 * The defaults (60 clients, 6 per document, 64 op messages in flight each)
 * gave the highest throughput on the 2-core machine this was tuned on, where
 * the server and the generator share the cores: the server's one JavaScript
 * thread saturates at about 100k op messages per second whatever the spread;
 * fewer, busier sockets and bigger per-document batches cost it less per op,
 * and 6 clients per document turn each op into 5 deliveries.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { Worker } from 'node:worker_threads';
import { spawnThread, ThreadMailbox } from '../src/loadtest/thread-mailbox';
import { DOC_ID_PATTERN } from '../src/protocol';
import {
  COUNTER_SLOTS,
  Counter,
  Phase,
  checkEncoder,
  type BenchClient,
  type FromWorker,
  type ToWorker,
  type WorkerInput,
  type WorkerResult,
} from './memory-shared';

const ROOT = path.resolve(__dirname, '..');
const HOST = '127.0.0.1';

const USAGE = `usage: npm run bench:memory -- [options]
  --clients N      WebSocket clients (default 60)
  --docs N         documents the clients are spread over, round robin (default 10)
  --window N       op messages in flight per client (default 64)
  --duration S     seconds measured (default 10)
  --warmup S       seconds run before measuring, not counted (default 2)
  --threads N      load generator worker threads (default 1)
  --no-cork        one write per op message sent (default: the ops sent in answer to the acks of one read share one write)
  --json FILE      also write the figures as JSON to FILE
  --server KIND    dist: node dist/cli.js (built first when missing); src: the sources through tsx
  --build          run "npm run build" first, even when dist exists
  --cpu-prof DIR   run the server with --cpu-prof and write its profile to DIR
  --env K=V        extra server environment variable (repeatable)`;

interface Options {
  clients: number;
  docs: number;
  window: number;
  durationS: number;
  warmupS: number;
  threads: number;
  cork: boolean;
  json: string | undefined;
  server: 'dist' | 'src';
  build: boolean;
  cpuProf: string | undefined;
  env: Record<string, string>;
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      clients: { type: 'string', default: '60' },
      docs: { type: 'string', default: '10' },
      window: { type: 'string', default: '64' },
      duration: { type: 'string', default: '10' },
      warmup: { type: 'string', default: '2' },
      threads: { type: 'string', default: '1' },
      'no-cork': { type: 'boolean', default: false },
      json: { type: 'string' },
      server: { type: 'string', default: 'dist' },
      build: { type: 'boolean', default: false },
      'cpu-prof': { type: 'string' },
      env: { type: 'string', multiple: true, default: [] },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const int = (name: string, text: string, min: number, max: number): number => {
    const n = Number(text);
    if (!Number.isInteger(n) || n < min || n > max) {
      throw new UsageError(`--${name} must be a whole number from ${min} to ${max}, not "${text}"`);
    }
    return n;
  };
  const seconds = (name: string, text: string, min: number, max: number): number => {
    const n = Number(text);
    if (!Number.isFinite(n) || n < min || n > max) {
      throw new UsageError(
        `--${name} must be a number of seconds from ${min} to ${max}, not "${text}"`,
      );
    }
    return n;
  };
  if (values.server !== 'dist' && values.server !== 'src') {
    throw new UsageError(`--server must be dist or src, not "${values.server}"`);
  }
  const env: Record<string, string> = {};
  for (const pair of values.env) {
    const match = /^([A-Z0-9_]+)=(.*)$/.exec(pair);
    if (!match) throw new UsageError(`--env takes NAME=VALUE, not "${pair}"`);
    env[match[1] as string] = match[2] as string;
  }
  const clients = int('clients', values.clients, 1, 50_000);
  const options: Options = {
    clients,
    docs: int('docs', values.docs, 1, clients),
    window: int('window', values.window, 1, 10_000),
    durationS: seconds('duration', values.duration, 0.5, 600),
    warmupS: seconds('warmup', values.warmup, 0, 120),
    threads: int('threads', values.threads, 1, 64),
    cork: !values['no-cork'],
    json: values.json,
    server: values.server,
    build: values.build,
    cpuProf: values['cpu-prof'],
    env,
  };
  options.threads = Math.min(options.threads, options.clients);
  return options;
}

class UsageError extends Error {}

// ---- small helpers --------------------------------------------------------------

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, HOST, () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

function clockTicks(): number {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
}
const CLK_TCK = clockTicks();

/** CPU seconds of a process in user and kernel mode, from /proc/<pid>/stat. */
function processCpuSeconds(pid: number): { user: number; system: number } {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  // After "pid (comm) ": state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { user: Number(fields[11]) / CLK_TCK, system: Number(fields[12]) / CLK_TCK };
}

/** VmRSS and VmHWM (peak RSS) of a process in bytes, from /proc/<pid>/status. */
function processMemory(pid: number): { rss: number; peak: number } {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name: string) =>
    Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
  return { rss: kb('VmRSS'), peak: kb('VmHWM') };
}

/** CPU seconds the whole machine spent busy (all cores), from /proc/stat. */
function machineBusySeconds(): number {
  const line = fs.readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] as string;
  // cpu user nice system idle iowait irq softirq steal ...
  const ticks = line.trim().split(/\s+/).slice(1, 9).map(Number);
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = ticks;
  return (user + nice + system + irq + softirq + steal) / CLK_TCK;
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    const mtime = entry.isDirectory() ? newestMtime(full) : fs.statSync(full).mtimeMs;
    newest = Math.max(newest, mtime);
  }
  return newest;
}

function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[
    Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))
  ] as number;
}

// ---- the server child process ---------------------------------------------------

interface ServerHandle {
  child: ChildProcess;
  pid: number;
  port: number;
  command: string;
  exited: Promise<number | null>;
}

function serverCommand(options: Options): { args: string[]; command: string } {
  const prof = options.cpuProf
    ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(options.cpuProf)}`]
    : [];
  if (options.server === 'src') {
    return {
      args: [...prof, '--import', 'tsx', 'src/cli.ts', 'all'],
      command: 'node --import tsx src/cli.ts all',
    };
  }
  const cli = path.join(ROOT, 'dist', 'cli.js');
  if (options.build || !fs.existsSync(cli)) {
    console.error(
      options.build ? 'building: npm run build' : 'dist/cli.js is missing; building: npm run build',
    );
    execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
  } else if (newestMtime(path.join(ROOT, 'src')) > fs.statSync(cli).mtimeMs) {
    console.error(
      'note: src/ has changed since dist/ was built; this measures dist/ (pass --build or --server src to measure the sources)',
    );
  }
  return { args: [...prof, cli, 'all'], command: 'node dist/cli.js all' };
}

async function startServer(options: Options): Promise<ServerHandle> {
  const port = await freePort();
  const { args, command } = serverCommand(options);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_ENV: 'production',
    HOST,
    PORT: String(port),
    LOG_LEVEL: 'warn',
    NODE_ID: 'bench-memory',
    USE_REDIS_WEBSOCKETS: 'false',
    USE_REDIS_COLLABORATION: 'false',
    USE_REDIS_EVENT_ORDERING: 'false',
    AUTH_JWT_SECRET: '',
    LIMIT_MESSAGES_PER_SECOND: '1000000',
    LIMIT_MESSAGE_BURST: '1000000',
    ...options.env,
  };
  // The server's log (pino writes to stdout) goes to stderr: stdout carries the figures only.
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.pipe(process.stderr);
  child.stderr?.pipe(process.stderr);
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );
  if (child.pid === undefined) throw new Error(`could not start the server: ${command}`);
  const handle: ServerHandle = { child, pid: child.pid, port, command, exited };
  serverHandle = handle;

  const deadline = Date.now() + 30_000;
  let early: number | null | undefined;
  void exited.then((code) => {
    early = code;
  });
  for (;;) {
    if (early !== undefined)
      throw new Error(`the server exited with code ${early} before it served`);
    try {
      const res = await fetch(`http://${HOST}:${port}/health`);
      if (res.ok) return handle;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline)
      throw new Error(`the server did not answer /health on port ${port} within 30 s`);
    await sleep(100);
  }
}

async function stopServer(handle: ServerHandle, graceMs: number): Promise<void> {
  if (handle.child.exitCode !== null || handle.child.signalCode !== null) return;
  handle.child.kill('SIGTERM');
  const timer = setTimeout(() => handle.child.kill('SIGKILL'), graceMs);
  await handle.exited;
  clearTimeout(timer);
}

async function documentSeq(port: number, doc: string): Promise<number> {
  const res = await fetch(`http://${HOST}:${port}/docs/${encodeURIComponent(doc)}`);
  if (!res.ok) throw new Error(`GET /docs/${doc} answered ${res.status}`);
  const body = (await res.json()) as { seq: number };
  return body.seq;
}

// ---- the load generator threads ---------------------------------------------------

type MessageOf<T extends FromWorker['type']> = Extract<FromWorker, { type: T }>;

/** One worker thread and the messages it sent, awaited by type. */
class GeneratorThread {
  readonly worker: Worker;
  readonly counters: Int32Array;
  private readonly mailbox: ThreadMailbox<FromWorker>;

  constructor(input: WorkerInput) {
    this.counters = new Int32Array(input.counters);
    this.worker = spawnThread(
      path.join(__dirname, `memory-worker${path.extname(__filename)}`),
      input,
    );
    this.mailbox = new ThreadMailbox<FromWorker>(this.worker, input.thread);
  }

  send(message: ToWorker): void {
    this.worker.postMessage(message);
  }

  wait<T extends FromWorker['type']>(type: T, timeoutMs: number): Promise<MessageOf<T>> {
    return this.mailbox.wait(type, timeoutMs);
  }

  stop(): Promise<void> {
    return this.mailbox.stop();
  }
}

function sumCounter(threads: GeneratorThread[], slot: number): number {
  let total = 0;
  for (const t of threads) total += Atomics.load(t.counters, slot);
  return total;
}

// ---- the run -----------------------------------------------------------------------

interface Figures {
  opsPerSecond: number;
  deliveriesPerSecond: number;
  ackP50Ms: number;
  ackP99Ms: number;
  ackP999Ms: number;
  ackMaxMs: number;
  serverRssBytes: number;
  serverPeakRssBytes: number;
  serverCpuCores: number;
  /** Part of the server's CPU spent in the kernel (system calls, loopback TCP). */
  serverKernelShare: number;
  generatorKernelShare: number;
  generatorCpuCores: number;
  /** Busy CPU of everything else on the machine (kernel softirq work included). */
  otherCpuCores: number;
  measuredSeconds: number;
  opsMeasured: number;
  deliveriesMeasured: number;
  opsTotal: number;
  anomalies: number;
  anomalyCounts: Record<string, number>;
  anomalyExamples: string[];
}

let serverHandle: ServerHandle | null = null;
let generatorThreads: GeneratorThread[] = [];

async function run(options: Options): Promise<Figures> {
  const runId = Date.now().toString(36);
  const docs = Array.from({ length: options.docs }, (_, i) => `bench-${runId}-d${i}`);
  for (const doc of docs) {
    if (!DOC_ID_PATTERN.test(doc)) throw new Error(`bad document id ${doc}`);
    checkEncoder(doc);
  }
  const clients: BenchClient[] = Array.from({ length: options.clients }, (_, i) => ({
    id: `bench-${runId}-c${i}`,
    doc: docs[i % options.docs] as string,
  }));

  const server = await startServer(options);
  console.error(`server: ${server.command} (pid ${server.pid}) on ws://${HOST}:${server.port}/ws`);

  const phase = new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT);
  const phaseView = new Int32Array(phase);
  generatorThreads = Array.from({ length: options.threads }, (_, thread) => {
    const input: WorkerInput = {
      thread,
      url: `ws://${HOST}:${server.port}/ws`,
      clients: clients.filter((_, i) => i % options.threads === thread),
      window: options.window,
      cork: options.cork,
      counters: new SharedArrayBuffer(COUNTER_SLOTS * Int32Array.BYTES_PER_ELEMENT),
      phase,
    };
    return new GeneratorThread(input);
  });
  const threads = generatorThreads;

  const ready = await Promise.all(threads.map((t) => t.wait('ready', 60_000)));
  const connectMs = Math.max(...ready.map((r) => r.connectMs));
  console.error(
    `${options.clients} clients joined ${options.docs} documents in ${connectMs.toFixed(0)} ms; warming up ${options.warmupS} s`,
  );

  for (const t of threads) t.send({ type: 'go' });
  await sleep(options.warmupS * 1000);

  const at = () => ({
    time: performance.now(),
    acks: sumCounter(threads, Counter.acks),
    events: sumCounter(threads, Counter.events),
    serverCpu: processCpuSeconds(server.pid),
    generatorCpu: process.cpuUsage(),
    machineBusy: machineBusySeconds(),
  });
  Atomics.store(phaseView, 0, Phase.measuring);
  const start = at();
  await sleep(options.durationS * 1000);
  Atomics.store(phaseView, 0, Phase.after);
  const end = at();
  const memory = processMemory(server.pid);
  console.error('measured; draining');

  for (const t of threads) t.send({ type: 'stop' });
  await Promise.all(threads.map((t) => t.wait('drained', 30_000)));
  const seqs: Record<string, number> = {};
  for (const doc of docs) seqs[doc] = await documentSeq(server.port, doc);
  for (const t of threads) t.send({ type: 'final', seqs });
  const results: WorkerResult[] = (
    await Promise.all(threads.map((t) => t.wait('result', 30_000)))
  ).map((m) => m.result);

  const counts: Record<string, number> = {};
  const examples: string[] = [];
  for (const r of results) {
    for (const [kind, n] of Object.entries(r.anomalies.counts))
      counts[kind] = (counts[kind] ?? 0) + n;
    examples.push(...r.anomalies.examples);
  }
  // Every ack is one applied op of a fresh document: they must add up to the documents' seqs.
  const opsTotal = sumCounter(threads, Counter.acks);
  const seqTotal = Object.values(seqs).reduce((a, b) => a + b, 0);
  if (opsTotal !== seqTotal) {
    counts['ack-total'] = (counts['ack-total'] ?? 0) + 1;
    examples.push(
      `ack-total: the clients got ${opsTotal} acks, the documents' seqs add up to ${seqTotal}`,
    );
  }

  let sampleCount = 0;
  for (const r of results) sampleCount += r.latencies.length;
  const latencies = new Float64Array(sampleCount);
  let offset = 0;
  for (const r of results) {
    latencies.set(r.latencies, offset);
    offset += r.latencies.length;
  }
  latencies.sort();

  const seconds = (end.time - start.time) / 1000;
  const cpu =
    (end.generatorCpu.user +
      end.generatorCpu.system -
      start.generatorCpu.user -
      start.generatorCpu.system) /
    1e6;
  const serverSystem = end.serverCpu.system - start.serverCpu.system;
  const serverCpu = (end.serverCpu.user - start.serverCpu.user + serverSystem) / seconds;
  const generatorCpu = cpu / seconds;
  return {
    opsPerSecond: (end.acks - start.acks) / seconds,
    deliveriesPerSecond: (end.events - start.events) / seconds,
    ackP50Ms: percentile(latencies, 0.5),
    ackP99Ms: percentile(latencies, 0.99),
    ackP999Ms: percentile(latencies, 0.999),
    ackMaxMs: latencies.length > 0 ? (latencies[latencies.length - 1] as number) : NaN,
    serverRssBytes: memory.rss,
    serverPeakRssBytes: memory.peak,
    serverCpuCores: serverCpu,
    serverKernelShare: serverCpu > 0 ? serverSystem / seconds / serverCpu : NaN,
    generatorKernelShare:
      cpu > 0 ? (end.generatorCpu.system - start.generatorCpu.system) / 1e6 / cpu : NaN,
    generatorCpuCores: generatorCpu,
    otherCpuCores: Math.max(
      0,
      (end.machineBusy - start.machineBusy) / seconds - serverCpu - generatorCpu,
    ),
    measuredSeconds: seconds,
    opsMeasured: end.acks - start.acks,
    deliveriesMeasured: end.events - start.events,
    opsTotal,
    anomalies: Object.values(counts).reduce((a, b) => a + b, 0),
    anomalyCounts: counts,
    anomalyExamples: examples,
  };
}

function printTable(options: Options, f: Figures): void {
  const int = (n: number) => Math.round(n).toLocaleString('en-US');
  const ms = (n: number) => (Number.isNaN(n) ? '-' : `${n.toFixed(2)} ms`);
  const mb = (n: number) => `${(n / 1024 / 1024).toFixed(0)} MB`;
  const cores = (n: number) => `${n.toFixed(2)} cores`;
  const pct = (n: number) => (Number.isNaN(n) ? '-' : `${(100 * n).toFixed(0)}%`);
  const perDoc = options.clients / options.docs;
  console.log(
    `flow bench:memory: ${options.clients} clients on ${options.docs} documents (${Number.isInteger(perDoc) ? perDoc : perDoc.toFixed(1)} per document), ` +
      `window ${options.window}, ${options.threads} generator thread(s), ${f.measuredSeconds.toFixed(1)} s measured after ${options.warmupS} s warm-up`,
  );
  const rows: Array<[string, string]> = [
    ['ops/s applied', int(f.opsPerSecond)],
    ['deliveries/s', int(f.deliveriesPerSecond)],
    ['ack p50', ms(f.ackP50Ms)],
    ['ack p99', ms(f.ackP99Ms)],
    ['server RSS', mb(f.serverRssBytes)],
    ['server CPU', cores(f.serverCpuCores)],
    ['generator CPU', cores(f.generatorCpuCores)],
    ['other CPU', cores(f.otherCpuCores)],
    ['anomalies', int(f.anomalies)],
  ];
  const widths = rows.map(([h, v]) => Math.max(h.length, v.length));
  console.log(rows.map(([h], i) => h.padStart(widths[i] as number)).join('  '));
  console.log(rows.map(([, v], i) => v.padStart(widths[i] as number)).join('  '));
  console.log(
    `ack p99.9 ${ms(f.ackP999Ms)}, max ${ms(f.ackMaxMs)}; server peak RSS ${mb(f.serverPeakRssBytes)}; ` +
      `kernel share of CPU: server ${pct(f.serverKernelShare)}, generator ${pct(f.generatorKernelShare)}; ` +
      `${int(f.opsMeasured)} ops and ${int(f.deliveriesMeasured)} deliveries measured, ${int(f.opsTotal)} ops applied in all`,
  );
  if (f.otherCpuCores > 0.25) {
    console.log(
      `note: the rest of the machine was busy with ${f.otherCpuCores.toFixed(2)} cores while measuring (other processes, kernel); ` +
        `the figures are lower than on an idle machine`,
    );
  }
  if (f.anomalies > 0) {
    console.log(
      `ANOMALIES: ${Object.entries(f.anomalyCounts)
        .map(([k, n]) => `${k} ${n}`)
        .join(', ')}`,
    );
    for (const example of f.anomalyExamples.slice(0, 10)) console.log(`  ${example}`);
  }
}

async function cleanup(graceMs: number): Promise<void> {
  const threads = generatorThreads;
  generatorThreads = [];
  await Promise.allSettled(threads.map((t) => t.stop()));
  const server = serverHandle;
  serverHandle = null;
  if (server) await stopServer(server, graceMs);
}

async function main(): Promise<number> {
  let options: Options;
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (err) {
    console.error(`bench:memory: ${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  const graceMs = options.cpuProf ? 20_000 : 5_000;
  // Bounded in time whatever happens: connect, warm-up, measure, drain, final checks.
  const limitMs = (options.warmupS + options.durationS) * 1000 + 180_000;
  const watchdog = setTimeout(() => {
    console.error(`bench:memory: still running after ${limitMs / 1000} s; giving up`);
    void cleanup(1000).finally(() => process.exit(2));
  }, limitMs);
  watchdog.unref();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      console.error(`bench:memory: ${signal}; stopping the server`);
      void cleanup(1000).finally(() => process.exit(130));
    });
  }
  process.once('exit', () => serverHandle?.child.kill('SIGKILL'));

  try {
    const figures = await run(options);
    await cleanup(graceMs);
    printTable(options, figures);
    if (options.json) {
      const { env, ...config } = options;
      fs.writeFileSync(
        options.json,
        `${JSON.stringify({ config: { ...config, serverEnv: env }, figures }, null, 2)}\n`,
      );
    }
    return figures.anomalies > 0 ? 1 : 0;
  } catch (err) {
    console.error(`bench:memory: ${err instanceof Error ? err.message : String(err)}`);
    await cleanup(1000);
    return 2;
  } finally {
    clearTimeout(watchdog);
  }
}

void main().then((code) => process.exit(code));
