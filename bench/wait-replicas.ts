/**
 * What REDIS_WAIT_REPLICAS costs: the same load against 2 gateways and 2
 * workers on a Redis Cluster of 3 masters with a replica each, once with `0`
 * (acknowledge at once) and once with `auto` (the default: wait for the
 * master's replica), alternating, --runs times each. Prints ack latency p50 and
 * p99 and the acked rate of every run, and the checker's verdict.
 *
 *   npx tsx bench/wait-replicas.ts --runs 2
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import type { LoadReport } from '../src/loadtest/report';
import { ReplicatedCluster } from '../test/reliability/replicated-cluster';
import {
  ROOT,
  buildIfNeeded,
  startFlowProcess,
  stopFlowProcess,
  type FlowProcessHandle,
} from './cluster-processes';
import { benchArgs } from './bench-args';

const SCRIPT = {
  name: 'bench/wait-replicas.ts',
  command: 'npx tsx bench/wait-replicas.ts',
  about:
    'Runs the same load with REDIS_WAIT_REPLICAS=0 and =auto, alternating, against 2 gateways + 2 workers on 3 masters with a replica each, and prints the ack latencies of every run.',
};
const values = benchArgs(SCRIPT, {
  runs: { type: 'string', default: '1', help: 'runs of each setting', number: { min: 1 } },
  rate: { type: 'string', default: '500', help: 'op/s offered', number: { min: 1 } },
  duration: { type: 'string', default: '15', help: 'seconds of load per run', number: { min: 1 } },
});

async function loadRun(urls: string[], dir: string, name: string): Promise<LoadReport> {
  const report = path.join(dir, `${name}.json`);
  const args = [
    path.join(ROOT, 'dist', 'loadtest', 'cli.js'),
    ...urls.flatMap((u) => ['--url', u]),
    ...['--clients', '40', '--docs', '20', '--members', '4', '--rate', values.rate as string],
    ...['--duration', values.duration as string, '--ramp-up', '2', '--threads', '1'],
    ...['--report', report, '--no-progress'],
  ];
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: 'ignore' });
  await new Promise((resolve) => child.once('exit', resolve));
  return JSON.parse(await readFile(report, 'utf8')) as LoadReport;
}

async function main(): Promise<void> {
  buildIfNeeded((line) => console.error(line));
  const dir = await mkdtemp(path.join(os.tmpdir(), 'flow-wait-replicas-'));
  const cluster = await ReplicatedCluster.start();
  const rows: string[] = [];
  try {
    for (let run = 1; run <= Number(values.runs); run++) {
      for (const setting of ['0', 'auto']) {
        const env = {
          REDIS_CLUSTER_NODES: cluster.seeds,
          REDIS_KEY_PREFIX: `flow-wait-${setting}-${run}:`,
          USE_REDIS_WEBSOCKETS: 'true',
          USE_REDIS_COLLABORATION: 'true',
          USE_REDIS_EVENT_ORDERING: 'true',
          REDIS_WAIT_REPLICAS: setting,
          LIMIT_MESSAGES_PER_SECOND: '100000',
          LIMIT_MESSAGE_BURST: '100000',
          LOG_LEVEL: 'warn',
        };
        const logs = path.join(dir, `logs-${setting}-${run}`);
        const processes: FlowProcessHandle[] = [];
        try {
          for (const [name, role] of [
            ['gateway-1', 'gateway'],
            ['gateway-2', 'gateway'],
            ['worker-1', 'worker'],
            ['worker-2', 'worker'],
          ] as const)
            processes.push(await startFlowProcess(name, role, { ...env, LOG_LEVEL: 'info' }, logs));
          const urls = processes
            .filter((p) => p.role === 'gateway')
            .map((p) => `ws://127.0.0.1:${p.port}/ws`);
          const r = await loadRun(urls, dir, `${setting}-${run}`);
          const ack = r.latencyMs.ack;
          const row =
            `| ${setting.padEnd(4)} | ${run} | ${r.rates.offered.toFixed(0)} | ${r.rates.acked.toFixed(0)} | ` +
            `${ack.p50.toFixed(2)} | ${ack.p99.toFixed(2)} | ${ack.max.toFixed(1)} | ` +
            `${r.machine.loadAverage[0]?.toFixed(2)} | ${r.check.ok ? 'OK' : JSON.stringify(r.check.counts)} |`;
          rows.push(row);
          console.error(row);
        } finally {
          await Promise.all(processes.map((p) => stopFlowProcess(p)));
        }
      }
    }
  } finally {
    await cluster.stop();
    await rm(dir, { recursive: true, force: true });
  }
  console.log(
    [
      `REDIS_WAIT_REPLICAS, 2 gateways + 2 workers, 3 masters + 3 replicas, ${values.rate} op/s offered for ${values.duration} s, 20 documents x 4 clients:`,
      '',
      '| REDIS_WAIT_REPLICAS | run | offered op/s | acked op/s | ack p50 ms | ack p99 ms | ack max ms | load average (1 min) | check |',
      '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
      ...rows,
    ].join('\n'),
  );
}

main().catch((err: unknown) => {
  console.error('wait-replicas:', err);
  process.exit(1);
});
