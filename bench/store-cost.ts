/**
 * `npx tsx bench/store-cost.ts`: the server CPU that a document store costs.
 * One Flow process (`node dist/cli.js all`, every service in memory) takes the
 * same load twice, without a store (DOCUMENT_STORE=none) and with a
 * PostgreSQL store of this bench's own; the load tester runs in this process.
 * The Flow process's CPU (/proc/PID/stat) is read from the start of the load
 * until the store has written the last snapshot (STORE_DEBOUNCE_MS after the
 * last edit; the same wait without a store). Prints one table; asserts nothing.
 *
 *   npx tsx bench/store-cost.ts [--rate 5000] [--docs 100] [--clients 200] [--duration 15]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseOptions } from '../src/loadtest/options';
import { runLoadTest } from '../src/loadtest/runner';
import { startPostgres } from '../test/support/postgres-harness';
import { buildIfNeeded, startFlowProcess, stopFlowProcess } from './cluster-processes';
import { processCpuMs } from './process-cpu';
import { benchArgs } from './bench-args';

const SCRIPT = {
  name: 'bench/store-cost.ts',
  command: 'npx tsx bench/store-cost.ts',
  about:
    'One Flow process (every service in memory) takes the same load without a document store and with a PostgreSQL store of its own; prints the server CPU of each.',
};
const values = benchArgs(SCRIPT, {
  rate: { type: 'string', default: '5000', help: 'op/s offered', number: { min: 1 } },
  docs: { type: 'string', default: '100', help: 'documents', number: { min: 1 } },
  clients: { type: 'string', default: '200', help: 'WebSocket clients', number: { min: 1 } },
  duration: { type: 'string', default: '15', help: 'seconds of load', number: { min: 1 } },
});
const DEBOUNCE_MS = 2000;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

interface Row {
  setup: string;
  /** Acked op messages per second in the measured window. */
  acked: number;
  /** Every acked op message of the run, ramp-up included (the CPU is read over all of it). */
  ackedTotal: number;
  ackP99: number;
  cpuMs: number;
  check: string;
}

async function measure(setup: string, env: Record<string, string>, logDir: string): Promise<Row> {
  const flow = await startFlowProcess(
    `store-cost-${setup}`,
    'all',
    {
      LOG_LEVEL: 'warn',
      STORE_DEBOUNCE_MS: String(DEBOUNCE_MS),
      LIMIT_MESSAGES_PER_SECOND: '1000000',
      LIMIT_MESSAGE_BURST: '1000000',
      ...env,
    },
    logDir,
  );
  try {
    const options = parseOptions(
      [
        '--url',
        `ws://127.0.0.1:${flow.port}/ws`,
        '--rate',
        values.rate,
        '--docs',
        values.docs,
        '--clients',
        values.clients,
        '--duration',
        values.duration,
        '--ramp-up',
        '2',
        '--no-progress',
      ],
      false,
    );
    if (options === 'help') throw new Error('unexpected --help');
    const before = processCpuMs(flow.pid) ?? 0;
    const report = await runLoadTest(options, { log: () => undefined, progress: () => undefined });
    // The store writes the last snapshots a debounce after the last edit: wait it out in both runs.
    await sleep(DEBOUNCE_MS + 1500);
    const after = processCpuMs(flow.pid) ?? 0;
    return {
      setup,
      acked: report.rates.acked,
      ackedTotal: report.totals.acked,
      ackP99: report.latencyMs.ack.p99,
      cpuMs: after - before,
      check: report.ok ? 'OK' : `FAILED (${report.check.total})`,
    };
  } finally {
    await stopFlowProcess(flow);
  }
}

async function main(): Promise<void> {
  buildIfNeeded((line) => console.log(line));
  const logDir = fs.mkdtempSync(path.join(os.tmpdir(), 'flow-store-cost-'));
  const postgres = await startPostgres();
  const rows: Row[] = [];
  try {
    rows.push(await measure('none', { DOCUMENT_STORE: 'none' }, logDir));
    rows.push(
      await measure(
        'postgres',
        { DOCUMENT_STORE: postgres.url, DOCUMENT_STORE_MIGRATE: 'true' },
        logDir,
      ),
    );
  } finally {
    await postgres.stop();
  }
  const base = rows[0] as Row;
  console.log(
    `\n${values.rate} op/s offered over ${values.docs} documents, ${values.clients} clients, ${values.duration} s; load average ${os
      .loadavg()
      .map((n) => n.toFixed(2))
      .join(' ')}`,
  );
  console.log(
    '| store | acked op/s | ack p99 ms | Flow CPU s | CPU ms per 1,000 acked ops | vs none | check |',
  );
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | --- |');
  for (const row of rows) {
    const perOps = row.cpuMs / (row.ackedTotal / 1000);
    const basePer = base.cpuMs / (base.ackedTotal / 1000);
    const delta = row === base ? '-' : `${(((perOps - basePer) / basePer) * 100).toFixed(1)} %`;
    console.log(
      `| ${row.setup} | ${Math.round(row.acked)} | ${row.ackP99} | ${(row.cpuMs / 1000).toFixed(2)} | ${perOps.toFixed(1)} | ${delta} | ${row.check} |`,
    );
  }
  fs.rmSync(logDir, { recursive: true, force: true });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
