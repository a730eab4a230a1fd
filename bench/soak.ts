/**
 * Soak: the product under a steady mixed load for a long time, to show that
 * memory stays flat. Starts its own 3-master Redis Cluster (redis-server on
 * free ports), the project's ecosystem.config.js (2 gateways + 2 workers)
 * under a pm2 of its own (a temporary PM2_HOME: the user's pm2 is never
 * touched), and the load tester in consecutive rounds (soak-load.ts): ops,
 * presence, clients that connect and leave, documents that open and expire
 * (a short REDIS_SESSION_TTL). Every --reload-every minutes it runs
 * `pm2 reload gateway` and `pm2 reload worker`. Every minute it prints the
 * RSS of every Flow process and used_memory of every Redis node; at the end
 * the slope of each (MB per hour, least squares over the minutes after the
 * warm-up), every round's checker verdict, and a block for BENCHMARKS.md.
 *
 *   npm run soak -- --minutes 30
 *
 * Exit code 1 when a round's checker found anomalies or a round failed.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { machineInfo } from '../src/loadtest/machine';
import { Pm2Sandbox } from '../test/ops/pm2-harness';
import { startRedisClusterProcesses } from '../test/support/redis-processes';
import { ROOT, buildIfNeeded, freePort, pm2FlowEnv } from './cluster-processes';
import { roundLine, runRound, type RoundResult, type RoundSettings } from './soak-load';
import { sampleMemory, summarize, type MemorySample, type Pm2App } from './soak-memory';
import { soakReport } from './soak-report';
import { benchArgs } from './bench-args';

const SCRIPT = {
  name: 'soak',
  command: 'npm run soak --',
  about:
    'Runs the product under a steady mixed load (ops, presence, clients and documents that come and go) with pm2 reloads, and prints the memory of every process and Redis node every minute.',
};
const values = benchArgs(SCRIPT, {
  minutes: { type: 'string', default: '30', help: 'minutes of load', number: { min: 1 } },
  'warm-up': {
    type: 'string',
    help: 'minutes left out of the slopes (default: a third of --minutes, at most 5)',
    number: { min: 0 },
  },
  'reload-every': {
    type: 'string',
    default: '10',
    help: 'minutes between pm2 reloads',
    number: { min: 1 },
  },
  'round-s': {
    type: 'string',
    default: '50',
    help: 'seconds per load test round',
    number: { min: 10 },
  },
  rate: { type: 'string', default: '100', help: 'op/s offered', number: { min: 1 } },
  'presence-rate': {
    type: 'string',
    default: '10',
    help: 'presence updates per second',
    number: { min: 0 },
  },
  clients: { type: 'string', default: '24', help: 'WebSocket clients', number: { min: 1 } },
  docs: { type: 'string', default: '12', help: 'documents', number: { min: 1 } },
  members: { type: 'string', default: '4', help: 'clients per document', number: { min: 1 } },
  'session-ttl': {
    type: 'string',
    default: '20',
    help: 'REDIS_SESSION_TTL of the run, seconds',
    number: { min: 1 },
  },
});

const minutes = Number(values.minutes);
const warmUp = Number(values['warm-up'] ?? Math.min(5, Math.floor(minutes / 3)));
const reloadEvery = Number(values['reload-every']);
const roundS = Number(values['round-s']);
const sessionTtl = values['session-ttl'];
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const log = (line: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${line}`);

async function apps(pm2: Pm2Sandbox): Promise<Pm2App[]> {
  return (await pm2.list()).map((p) => ({ name: p.name, pmId: p.pm_id, pid: p.pid }));
}

function sampleLine(minute: number, sample: MemorySample): string {
  const cells = [...sample].map(([name, { mb }]) => `${name.replace(/ .*/, '')} ${mb.toFixed(1)}`);
  return `minute ${minute}: ${cells.join(', ')} (MB; RSS of Flow processes, used_memory of Redis)`;
}

async function main(): Promise<number> {
  if (
    !(minutes > 0) ||
    !(reloadEvery > 0) ||
    !(roundS >= 10) ||
    !(warmUp >= 0) ||
    warmUp >= minutes
  )
    throw new Error(
      '--minutes > 0, --reload-every > 0, --round-s >= 10, 0 <= --warm-up < --minutes',
    );
  buildIfNeeded(log);
  const machine = machineInfo();
  const reportDir = await mkdtemp(path.join(os.tmpdir(), 'flow-soak-'));
  const cluster = await startRedisClusterProcesses();
  const seeds = cluster.nodes.map((n) => `${n.host}:${n.port}`).join(',');
  const port = await freePort();
  const flowEnv = pm2FlowEnv(port, seeds, { REDIS_SESSION_TTL: sessionTtl });
  const pm2 = await Pm2Sandbox.create(flowEnv);
  const samples: Array<{ minute: number; memory: MemorySample }> = [];
  const rounds: RoundResult[] = [];
  const reloads: string[] = [];
  try {
    await pm2.pm2(['start', path.join(ROOT, 'ecosystem.config.js')]);
    log(`cluster ${seeds}; pm2 (PM2_HOME ${pm2.home}) runs 2 gateways on :${port} and 2 workers`);
    const startedAt = performance.now();
    const elapsedMin = () => (performance.now() - startedAt) / 60_000;

    const sampling = (async () => {
      for (let minute = 0; minute <= minutes; minute++) {
        await sleep(Math.max(0, startedAt + minute * 60_000 - performance.now()));
        const memory = await sampleMemory(await apps(pm2), cluster.nodes);
        samples.push({ minute, memory });
        log(sampleLine(minute, memory));
      }
    })();

    const reloading = (async () => {
      // Half a minute past a sample mark: a reload of both apps takes about a minute.
      for (let at = reloadEvery + 0.5; at < minutes - 0.5; at += reloadEvery) {
        await sleep(Math.max(0, startedAt + at * 60_000 - performance.now()));
        for (const app of ['gateway', 'worker']) {
          const began = performance.now();
          await pm2.pm2(['reload', app], 120_000);
          const line = `pm2 reload ${app} at minute ${at.toFixed(1)} took ${((performance.now() - began) / 1000).toFixed(1)} s`;
          reloads.push(line);
          log(line);
        }
      }
    })();

    const settings: RoundSettings = {
      url: `ws://127.0.0.1:${port}/ws`,
      clients: Number(values.clients),
      docs: Number(values.docs),
      members: Number(values.members),
      rate: Number(values.rate),
      presenceRate: Number(values['presence-rate']),
      durationS: roundS,
    };
    const loading = (async () => {
      // A round takes about its duration plus the ramp-up, setup and check.
      for (let round = 1; elapsedMin() + (roundS + 10) / 60 < minutes; round++) {
        const result = await runRound(round, settings, reportDir);
        rounds.push(result);
        log(roundLine(result));
      }
    })();

    await Promise.all([sampling, reloading, loading]);
  } finally {
    await pm2.stop();
    await cluster.stop();
    await rm(reportDir, { recursive: true, force: true });
  }

  const series = summarize(samples, warmUp);
  const failed = rounds.filter((r) => !r.report?.check.ok);
  console.log(
    '\n' +
      soakReport({
        minutes,
        warmUp,
        reloadEvery,
        settings: { ...values },
        machine,
        loadAverageEnd: os.loadavg(),
        rounds,
        reloads,
        series,
      }),
  );
  return failed.length === 0 && rounds.length > 0 ? 0 : 1;
}

main()
  .then((code) => process.exit(code))
  .catch((err: unknown) => {
    console.error('soak:', err);
    process.exit(1);
  });
