import os from 'node:os';
import { checkHistories } from './checker';
import { runFault, type FaultResult } from './faults';
import { fetchServerDocuments } from './server-documents';
import { fetchStoredDocuments } from './stored-documents';
import { mergeHistograms, summarize } from './latency';
import { machineInfo } from './machine';
import { nowUs } from './ops';
import type { LoadOptions } from './options';
import { maxDocsPerClient, planRun } from './plan';
import { formatProgress, type LoadReport } from './report';
import { ThreadHandle } from './thread-handle';
import { Counter, type ThreadResult } from './thread-protocol';

export interface RunHooks {
  /** Lines about the run's course (setup, faults, warnings). Default: stderr. */
  log?: (line: string) => void;
  /** The progress line, every second, when options.progress. Default: stdout with \r. */
  progress?: (line: string) => void;
}

const READY_TIMEOUT_MS = 130_000;
const RESULT_TIMEOUT_MS = 60_000;
/** How long the final phase waits for the replicas to reach the server's seq. */
const FINAL_TIMEOUT_MS = 15_000;
/** Lead time between `go` and the first message, so that every thread starts together. */
const START_LEAD_US = 100_000;
const DOCS_PER_CONNECTION_DEFAULT = 100;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Runs one load test: generator threads connect and join, send at the
 * offered rate for ramp-up + duration, drain, catch up to the server's final
 * seq; then the checker compares everything with GET /docs/:doc.
 */
export async function runLoadTest(options: LoadOptions, hooks: RunHooks = {}): Promise<LoadReport> {
  const log = hooks.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const progress =
    hooks.progress ?? ((line: string) => process.stdout.write(`\r${line.padEnd(150)}`));
  const startedAt = new Date();
  const machine = machineInfo();
  const plan = planRun(options);
  const widest = maxDocsPerClient(plan);
  if (widest > DOCS_PER_CONNECTION_DEFAULT) {
    log(
      `warning: a client joins up to ${widest} documents; the server's default LIMIT_DOCS_PER_CONNECTION is ${DOCS_PER_CONNECTION_DEFAULT} (use more --clients)`,
    );
  }
  const threads = plan.threads.map(
    (clients, thread) =>
      new ThreadHandle({ thread, urls: options.urls, clients, opSize: options.opSize }),
  );
  try {
    const ready = await Promise.all(threads.map((t) => t.wait('ready', READY_TIMEOUT_MS)));
    const setupMs = Math.max(...ready.map((r) => r.setupMs));
    log(
      `${options.clients} clients joined ${options.docs} documents (${plan.memberships} joins) in ${(setupMs / 1000).toFixed(1)} s`,
    );

    // ---- the load ----
    const t0Us = nowUs() + START_LEAD_US;
    const totalS = options.rampUpS + options.durationS;
    for (const [i, t] of threads.entries()) {
      const share = (ready[i]?.memberships ?? 0) / plan.memberships;
      t.send({
        type: 'go',
        schedule: {
          t0Us,
          rampUpS: options.rampUpS,
          durationS: options.durationS,
          rate: options.rate * share,
          presenceRate: options.presenceRate * share,
        },
      });
    }
    const sinceStartS = () => (nowUs() - t0Us) / 1e6;
    const faults: Array<Promise<FaultResult>> = options.faults.map((fault) =>
      sleep(Math.max(0, fault.atS * 1000 - sinceStartS() * 1000)).then(() =>
        runFault(fault, sinceStartS(), log),
      ),
    );
    const sum = (slot: number) => threads.reduce((n, t) => n + (t.counters[slot] as number), 0);

    // The process's CPU (all threads) over the measured window.
    let cpuStart = process.cpuUsage();
    let inFlightAtStart = 0;
    const windowTimer = setTimeout(
      () => {
        cpuStart = process.cpuUsage();
        inFlightAtStart = sum(Counter.pending);
      },
      Math.max(0, (t0Us + options.rampUpS * 1e6 - nowUs()) / 1000),
    );
    await sleep(START_LEAD_US / 1000 + 5);
    let last = { created: 0, acked: 0, delivered: 0 };
    let printed = false;
    for (let second = 1; ; second++) {
      const untilUs = t0Us + Math.min(second, totalS) * 1e6;
      await sleep(Math.max(0, (untilUs - nowUs()) / 1000));
      const elapsed = sinceStartS();
      const now = {
        created: sum(Counter.created),
        acked: sum(Counter.acked),
        delivered: sum(Counter.delivered),
      };
      if (options.progress) {
        const ticks = threads.map((t) => t.lastTick);
        progress(
          formatProgress({
            elapsedS: elapsed,
            phase: elapsed <= options.rampUpS ? 'ramp-up' : 'load',
            offered: now.created - last.created,
            acked: now.acked - last.acked,
            delivered: now.delivered - last.delivered,
            inFlight: sum(Counter.pending),
            ackP50Ms: Math.max(0, ...ticks.map((t) => t?.ackP50Us ?? 0)) / 1000,
            ackP99Ms: Math.max(0, ...ticks.map((t) => t?.ackP99Us ?? 0)) / 1000,
            errors: sum(Counter.errors),
            reconnects: sum(Counter.reconnects),
            elu: ticks.map((t) => t?.elu ?? 0),
          }),
        );
        printed = true;
      }
      last = now;
      if (second >= totalS) break;
    }
    clearTimeout(windowTimer);
    const cpuWindow = process.cpuUsage(cpuStart);
    const inFlightAtEnd = sum(Counter.pending);
    if (printed && !hooks.progress) process.stdout.write('\n');

    // ---- drain, settle, fetch the server's view ----
    const drainMs = options.drainTimeoutS * 1000;
    for (const t of threads) t.send({ type: 'drain', timeoutMs: drainMs });
    const drained = await Promise.all(threads.map((t) => t.wait('drained', drainMs + 10_000)));
    const unanswered = drained.reduce((n, d) => n + d.pending, 0);
    if (unanswered > 0)
      log(
        `${unanswered} op messages were still unanswered ${options.drainTimeoutS} s after the end`,
      );
    const faultResults = await Promise.all(faults);
    const server = await fetchServerDocuments(options.urls, plan.docs);
    const positions: Record<string, { epoch: string; seq: number } | null> = {};
    for (const [doc, answer] of server) {
      positions[doc] = answer ? { epoch: answer.epoch, seq: answer.seq } : null;
    }
    for (const t of threads)
      t.send({ type: 'final', server: positions, timeoutMs: FINAL_TIMEOUT_MS });
    const results: ThreadResult[] = (
      await Promise.all(threads.map((t) => t.wait('result', FINAL_TIMEOUT_MS + RESULT_TIMEOUT_MS)))
    ).map((m) => m.result);

    // ---- figures and the check ----
    const stored = options.store
      ? await fetchStoredDocuments(
          options.store,
          new Map(Object.entries(positions)),
          options.store.waitS * 1000,
        )
      : undefined;
    const check = checkHistories(
      results.flatMap((r) => r.histories),
      server,
      stored ? { stored } : {},
    );
    const histograms = (pick: (r: ThreadResult) => string) =>
      summarize(mergeHistograms(results.map(pick)));
    const errors: Record<string, number> = {};
    for (const r of results)
      for (const [code, n] of Object.entries(r.errors)) errors[code] = (errors[code] ?? 0) + n;
    const window = options.durationS;
    const threadFigures = results.map((r) => ({
      thread: r.thread,
      cpuCores: r.cpu ? (r.cpu.user + r.cpu.system) / window : null,
      elu: r.elu,
    }));
    const sendLag = histograms((r) => r.histograms.sendLag);
    const busiest = Math.max(0, ...threadFigures.map((t) => t.elu));
    // A busy thread limits the run; a late one with an idle loop was starved of CPU by others.
    const clientBound = busiest > 0.85;
    const behindSchedule = sendLag.p99 > 20;
    const note = clientBound
      ? `the generator may have limited this run: its busiest thread was ${(busiest * 100).toFixed(0)}% busy (add --threads, or run it on another machine)`
      : behindSchedule
        ? `the generator sent behind its schedule (send lag p99 ${sendLag.p99} ms) with its threads at most ${(busiest * 100).toFixed(0)}% busy: the machine's CPU was short, for the generator too; latencies include that wait`
        : '';
    const report: LoadReport = {
      version: 1,
      ok: check.ok,
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      runId: options.runId,
      machine,
      loadAverageEnd: os.loadavg().map((n) => Math.round(n * 100) / 100),
      setup: {
        urls: options.urls,
        clients: options.clients,
        docs: options.docs,
        members: options.members,
        memberships: plan.memberships,
        threads: threads.length,
        opSize: options.opSize,
        rampUpS: options.rampUpS,
        durationS: options.durationS,
        rate: options.rate,
        presenceRate: options.presenceRate,
        setupMs,
      },
      rates: {
        offered: sum(Counter.windowCreated) / window,
        acked: sum(Counter.windowAcked) / window,
        delivered: sum(Counter.windowDelivered) / window,
      },
      totals: {
        created: sum(Counter.created),
        sent: sum(Counter.sent),
        acked: sum(Counter.acked),
        delivered: sum(Counter.delivered),
        resent: sum(Counter.resent),
        dupAcks: sum(Counter.dupAcks),
        dupAcksUnprompted: sum(Counter.dupAcksUnprompted),
        maxInFlight: sum(Counter.maxPending),
        inFlightAtWindowStart: inFlightAtStart,
        inFlightAtWindowEnd: inFlightAtEnd,
        unansweredAfterDrain: unanswered,
        presenceSent: sum(Counter.presenceSent),
        presenceReceived: sum(Counter.presenceReceived),
      },
      latencyMs: {
        ack: histograms((r) => r.histograms.ack),
        fanout: histograms((r) => r.histograms.fanout),
        sendLag,
      },
      errors,
      reconnects: sum(Counter.reconnects),
      disconnects: sum(Counter.disconnects),
      generator: {
        cpuCores: (cpuWindow.user + cpuWindow.system) / 1e6 / window,
        userS: cpuWindow.user / 1e6,
        systemS: cpuWindow.system / 1e6,
        threads: threadFigures,
        clientBound,
        behindSchedule,
        note,
      },
      faults: faultResults,
      check,
    };
    return report;
  } finally {
    await Promise.all(threads.map((t) => t.stop()));
  }
}
