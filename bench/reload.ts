/**
 * `npx tsx bench/reload.ts`: what a pm2 reload under load costs the clients.
 * Starts a 3-master Redis Cluster of its own and the project's
 * ecosystem.config.js (2 gateways + 2 workers, BullMQ ordering) under a pm2
 * of its own (a temporary PM2_HOME), runs one load test, and during it runs
 * `pm2 reload worker` and then `pm2 reload gateway`. Prints the load
 * tester's ack latencies (p99 and max) and its checker's verdict; asserts
 * nothing. Exit code 1 when the checker found anomalies or the run failed.
 *
 *   npx tsx bench/reload.ts [--rate 1000] [--clients 200] [--docs 20] [--duration 60]
 *                           [--reload worker,gateway] [--log-level info] [--keep-logs DIR]
 *                           [--no-timeline]
 *
 * `--reload worker` (or `gateway`) reloads only that app, so that the ack
 * max of the run belongs to that reload.
 *
 * The timeline (on unless --no-timeline): an observer WebSocket client joins
 * every document of the run and reads the send time that the load tester
 * writes into each op (`t`, CLOCK_MONOTONIC µs, the clock of its ack
 * latency): the latency of each event it receives is that op's latency up to
 * its fan-out, which comes from the same published outcome as the ack. Also
 * sampled every 100 ms: CPU of the machine and of each process (from /proc),
 * with processes appearing and exiting. After the run it prints, around each
 * reload, per 100 ms of send time: ops sent, max latency, ops slower than
 * 250 ms, documents involved, CPU per role; the pm2 apps' log lines
 * (LOG_LEVEL info by default, pino timestamps) and process starts and exits
 * in between; and per document the stalls (the gap in its events).
 */
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Pm2Sandbox } from '../test/ops/pm2-harness';
import { startRedisClusterProcesses } from '../test/support/redis-processes';
import { ROOT, buildIfNeeded, freePort, pm2FlowEnv } from './cluster-processes';
import { CpuSampler } from './process-sampler';
import { Observer, appLogLines, printTimeline, type ReloadTime } from './reload-timeline';
import { roundLine, runRound } from './soak-load';
import { benchArgs, benchUsageError } from './bench-args';

const SCRIPT = {
  name: 'bench/reload.ts',
  command: 'npx tsx bench/reload.ts',
  about:
    'Runs one load test against 2 gateways + 2 workers under a pm2 of its own, with pm2 reload worker and then gateway during it, and prints the ack latencies around each reload.',
};
const values = benchArgs(SCRIPT, {
  rate: { type: 'string', default: '1000', help: 'op/s offered', number: { min: 1 } },
  clients: { type: 'string', default: '200', help: 'WebSocket clients', number: { min: 1 } },
  docs: { type: 'string', default: '20', help: 'documents', number: { min: 1 } },
  duration: { type: 'string', default: '60', help: 'seconds of load', number: { min: 30 } },
  reload: {
    type: 'string',
    default: 'worker,gateway',
    help: 'apps to reload: worker and/or gateway',
  },
  'log-level': { type: 'string', default: 'info', help: 'LOG_LEVEL of the pm2 apps' },
  'keep-logs': {
    type: 'string',
    help: "copy the pm2 logs and the observer's events to this directory",
  },
  'no-timeline': { type: 'boolean', default: false, help: 'no observer client and no timeline' },
});
const RELOAD_AT = { worker: 0.25, gateway: 0.55 } as const;
const apps = values.reload.split(',').map((app) => app.trim());
for (const app of apps) {
  if (!(app in RELOAD_AT))
    benchUsageError(SCRIPT, `--reload takes worker and/or gateway, not "${app}"`);
}
const durationS = Number(values.duration);
const timeline = !values['no-timeline'];
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const log = (line: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${line}`);

async function main(): Promise<number> {
  buildIfNeeded(log);
  const reportDir = await mkdtemp(path.join(os.tmpdir(), 'flow-reload-'));
  const cluster = await startRedisClusterProcesses();
  const seeds = cluster.nodes.map((n) => `${n.host}:${n.port}`).join(',');
  const port = await freePort();
  const pm2 = await Pm2Sandbox.create(pm2FlowEnv(port, seeds, { LOG_LEVEL: values['log-level'] }));
  const sampler = new CpuSampler(cluster.nodes.map((n) => n.port));
  let observer: Observer | null = null;
  try {
    await pm2.pm2(['start', path.join(ROOT, 'ecosystem.config.js')]);
    log(`cluster ${seeds}; pm2 runs 2 gateways on :${port} and 2 workers`);
    const started = performance.now();
    const reloads: string[] = [];
    const reloadTimes: ReloadTime[] = [];
    const runId = `reload-${Math.random().toString(36).slice(2, 6)}`;
    const docs = Array.from({ length: Number(values.docs) }, (_, i) => `lt-${runId}-d${i}`);
    const url = `ws://127.0.0.1:${port}/ws`;
    if (timeline) {
      sampler.start();
      // After the load tester's setup and ramp-up have begun: its documents exist.
      setTimeout(() => {
        observer = new Observer(url, docs);
        observer.connect();
      }, 3000);
    }
    // The reloads fall in the load's steady part: after the ramp-up, before the end.
    const reloading = (async () => {
      for (const app of apps as Array<keyof typeof RELOAD_AT>) {
        const atS = durationS * RELOAD_AT[app];
        await sleep(Math.max(0, started + (atS + 4) * 1000 - performance.now()));
        const began = performance.now();
        const beganMs = Date.now();
        await pm2.pm2(['reload', app], 120_000);
        reloadTimes.push({ app, beganMs, endedMs: Date.now() });
        const line = `pm2 reload ${app} at ${((began - started) / 1000).toFixed(0)} s took ${((performance.now() - began) / 1000).toFixed(1)} s`;
        reloads.push(line);
        log(line);
      }
    })();
    const result = await runRound(
      1,
      {
        url,
        clients: Number(values.clients),
        docs: Number(values.docs),
        members: Math.min(10, Number(values.clients)),
        rate: Number(values.rate),
        presenceRate: 0,
        durationS,
      },
      reportDir,
      runId,
    );
    await reloading;
    sampler.stop();
    (observer as Observer | null)?.close();
    log(roundLine(result));
    if (values['keep-logs']) {
      await cp(path.join(pm2.home, 'pm2', 'logs'), values['keep-logs'], { recursive: true });
      await writeFile(
        path.join(values['keep-logs'], 'observer.json'),
        JSON.stringify({
          reloads: reloadTimes,
          docs,
          seen: (observer as Observer | null)?.seen ?? [],
        }),
      );
      log(`pm2 logs and the observer's events copied to ${values['keep-logs']}`);
    }
    if (timeline) {
      const notes = [
        ...appLogLines(pm2),
        ...sampler.notes,
        ...((observer as Observer | null)?.notes ?? []),
        ...reloadTimes.flatMap((r) => [
          { atMs: r.beganMs, text: `pm2 reload ${r.app}: command started` },
          { atMs: r.endedMs, text: `pm2 reload ${r.app}: command returned` },
        ]),
      ];
      printTimeline(
        (observer as Observer | null)?.seen ?? [],
        sampler.samples,
        notes,
        reloadTimes,
        docs.length,
      );
    }
    const report = result.report;
    if (!report) return 1;
    const { ack } = report.latencyMs;
    console.log(
      [
        '',
        `load: ${values.rate} op/s, ${values.clients} clients in ${values.docs} documents, ${durationS} s, BullMQ ordering, 3-master cluster`,
        ...reloads,
        `acked ${report.totals.acked} op messages; ack p50 ${ack.p50.toFixed(1)} ms, p99 ${ack.p99.toFixed(1)} ms, max ${ack.max.toFixed(1)} ms`,
        `reconnects ${report.reconnects}; checker ${report.check.ok ? 'OK' : `FOUND ${JSON.stringify(report.check.counts)}`}`,
      ].join('\n'),
    );
    return report.check.ok ? 0 : 1;
  } finally {
    sampler.stop();
    (observer as Observer | null)?.close();
    await pm2.stop();
    await cluster.stop();
    await rm(reportDir, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
