/**
 * `npx tsx bench/document-store.ts [documents]`: how long the save scheduler
 * takes to store one snapshot of each of N documents (10,000 by default) in a
 * PostgreSQL server of its own, with the configured defaults for concurrency
 * and pool size, counted from the last edit. Prints the figures; asserts nothing.
 */
import pino from 'pino';
import { configFrom } from '../src/config';
import { createDocumentStore, SaveScheduler } from '../src/services/document-store';
import { startPostgres } from '../test/support/postgres-harness';
import { benchUsageError } from './bench-args';

const SCRIPT = {
  name: 'bench/document-store.ts',
  command: 'npx tsx bench/document-store.ts',
  about:
    'Stores one snapshot of each of that many documents (default 10000) in a PostgreSQL server of its own, and prints how long it took.',
};

/** The one argument: how many documents (10,000 when left out). */
function documentCount(argv: string[]): number {
  const [arg, ...rest] = argv;
  if (arg === '--help' || arg === '-h') {
    console.log(`usage: ${SCRIPT.command} [documents]\n\n${SCRIPT.about}`);
    process.exit(0);
  }
  if (rest.length > 0) benchUsageError(SCRIPT, `it takes one argument, the document count`);
  const documents = Number(arg ?? 10_000);
  if (!Number.isInteger(documents) || documents < 1)
    benchUsageError(
      SCRIPT,
      `the document count must be a whole number of at least 1, not "${arg}"`,
    );
  return documents;
}

async function main(): Promise<void> {
  const documents = documentCount(process.argv.slice(2));
  const server = await startPostgres();
  const config = configFrom({ DOCUMENT_STORE: server.url, DOCUMENT_STORE_MIGRATE: 'true' });
  const log = pino({ level: 'warn' });
  const store = await createDocumentStore(config, log, { severalProcesses: true });
  if (!store) throw new Error('no store');
  const latencies: number[] = [];
  const state = {
    nodes: Object.fromEntries(
      Array.from({ length: 20 }, (_, i) => [`n${i}`, { label: `node ${i}`, x: i * 10, y: i * 5 }]),
    ),
  };
  let saved = 0;
  let lastSavedAt = 0;
  const scheduler = new SaveScheduler({
    store,
    readSnapshot: async () => ({ kind: 'snapshot', snapshot: { epoch: 'bench', seq: 1, state } }),
    onSaved: () => {
      saved++;
      lastSavedAt = Date.now();
    },
    debounceMs: config.documentStore.debounceMs,
    maxDelayMs: config.documentStore.maxDelayMs,
    concurrency: config.documentStore.concurrency,
    retry: { initialMs: 100, maxMs: config.documentStore.retryMaxMs },
    log,
    onSaveLatency: (ms) => latencies.push(ms),
  });
  const run = `run-${Date.now()}`;
  for (let i = 0; i < documents; i++) scheduler.notify(`${run}-${i}`, 1);
  const lastEditAt = Date.now();
  await scheduler.flush().then(() => undefined);
  // flush() writes at once; the debounce would add STORE_DEBOUNCE_MS to every figure.
  latencies.sort((a, b) => a - b);
  const pct = (p: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))];
  console.log(
    JSON.stringify({
      documents,
      saved,
      secondsFromLastEdit: (lastSavedAt - lastEditAt) / 1000,
      snapshotsPerSecond: Math.round(saved / ((lastSavedAt - lastEditAt) / 1000)),
      writeMsP50: pct(0.5),
      writeMsP99: pct(0.99),
      concurrency: config.documentStore.concurrency,
      debounceMsNotIncluded: config.documentStore.debounceMs,
    }),
  );
  await scheduler.close(1000);
  await store.close();
  await server.stop();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
