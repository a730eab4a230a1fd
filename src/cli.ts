#!/usr/bin/env node
import { ConfigError, describeConfig, loadConfig, type FlowConfig } from './config';
import type { Logger } from 'pino';
import { createLogger } from './observability/logger';
import { startFlow, type FlowProcess, type Role } from './app/flow-process';
import { SingleProcessBusyError, StartupError } from './config/startup-error';
import { UwsUnavailableError } from './gateway/uws';
import { migrateDocumentStore } from './services/document-store';
import { listLiveDocuments } from './app/live-documents';
import { printQueues } from './app/queue-report';
import { describeTarget } from './redis';

const USAGE = `usage: flow <all|gateway|worker|config|migrate|docs|queues>
  all      gateway and ordering in one process (the default for a first run)
  gateway  WebSocket gateway only
  worker   ordering worker only (idles while USE_REDIS_EVENT_ORDERING=false)
  config   print the effective configuration, secrets masked
  migrate  apply the document store's schema migrations (DOCUMENT_STORE file: or postgres://)
  docs     list the documents with a session in Redis, over every cluster master
  queues [doc...]  Redis ordering: each document's BullMQ queue, or the busiest documents`;

function printConfig(): void {
  const entries = describeConfig(loadConfig());
  const width = Math.max(...entries.map((e) => e.env.length));
  for (const entry of entries)
    console.log(`${entry.env.padEnd(width)}  ${entry.value === '' ? '(empty)' : entry.value}`);
}

async function printLiveDocuments(): Promise<number> {
  const config = loadConfig();
  // Connection problems are printed once below, not logged on every retry.
  const log = createLogger({ ...config, logLevel: 'silent' }, 'docs');
  let documents;
  try {
    documents = await listLiveDocuments(config, log);
  } catch (err) {
    console.error(
      `flow: cannot list documents in Redis at ${describeTarget(config)}: ${(err as Error).message}`,
    );
    return 1;
  }
  console.log('document\tepoch\tseq\tttl_s');
  for (const d of documents) console.log(`${d.doc}\t${d.epoch}\t${d.seq}\t${d.ttlSeconds}`);
  console.error(`${documents.length} live document(s) in Redis at ${describeTarget(config)}`);
  return 0;
}

async function printOrderingQueues(docs: readonly string[]): Promise<number> {
  const config = loadConfig();
  // Connection problems are printed once below, not logged on every retry.
  const log = createLogger({ ...config, logLevel: 'silent' }, 'queues');
  try {
    await printQueues(config, log, docs);
  } catch (err) {
    console.error(
      `flow: cannot read the ordering queues in Redis at ${describeTarget(config)}: ${(err as Error).message}`,
    );
    return 1;
  }
  return 0;
}

/** How often a standby process tries to take over a single-process configuration. */
const STANDBY_RETRY_MS = 5000;

/**
 * Starts the role. When another process already serves this single-process
 * configuration (port or lease taken), waits as a standby and retries, so
 * that pm2 instances beyond the first stay up without a crash loop and one
 * takes over when the serving process stops.
 */
async function startOrStandBy(config: FlowConfig, role: Role, log: Logger): Promise<FlowProcess> {
  let waiting = false;
  let signalled = false;
  const onSignal = () => {
    signalled = true;
    if (!waiting) return;
    log.info('stopped while on standby');
    process.exit(0);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    for (let announced = false; ;) {
      try {
        const flow = await startFlow(config, role, { log });
        if (signalled) {
          // A signal came while starting: stop as if it came now.
          await flow.close();
          process.exit(0);
        }
        return flow;
      } catch (err) {
        if (!(err instanceof SingleProcessBusyError)) throw err;
        if (!announced) {
          announced = true;
          log.warn(
            { reason: err.message },
            'standby: another process serves this configuration; taking over when it stops',
          );
          if (process.send) process.send('ready');
        }
      }
      waiting = true;
      await new Promise((resolve) => setTimeout(resolve, STANDBY_RETRY_MS));
      waiting = false;
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

async function main(argv: string[]): Promise<number> {
  const command = argv[0] ?? 'all';
  if (command === '--help' || command === '-h' || command === 'help') {
    console.log(USAGE);
    return 0;
  }
  if (command === 'config') {
    printConfig();
    return 0;
  }
  if (command === 'migrate') {
    const { target, applied } = await migrateDocumentStore(loadConfig());
    console.log(
      applied.length > 0
        ? `flow: applied ${applied.join(', ')} to ${target}`
        : `flow: ${target} is up to date`,
    );
    return 0;
  }
  if (command === 'docs') return printLiveDocuments();
  if (command === 'queues') return printOrderingQueues(argv.slice(1));
  if (command !== 'all' && command !== 'gateway' && command !== 'worker') {
    console.error(`flow: unknown command "${command}"\n${USAGE}`);
    return 2;
  }
  const config = loadConfig();
  const role = command as Role;
  const log = createLogger(config, role);
  const flow = await startOrStandBy(config, role, log);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    flow.log.info({ signal }, 'shutting down: closing clients with 1001 and draining');
    const force = setTimeout(() => {
      flow.log.error(
        { drainMs: config.shutdown.drainMs },
        'shutdown took longer than SHUTDOWN_DRAIN_MS; exiting anyway',
      );
      process.exit(1);
    }, config.shutdown.drainMs + 1000);
    force.unref();
    flow
      .close()
      .then(() => {
        flow.log.info('stopped');
        process.exit(0);
      })
      .catch((err: unknown) => {
        flow.log.error({ err }, 'shutdown failed');
        process.exit(1);
      });
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  // pm2 wait_ready: tell it only once the process serves (a worker: consumes).
  void (flow.consuming ?? Promise.resolve()).then(() => process.send?.('ready'));
  return -1;
}

main(process.argv.slice(2))
  .then((code) => {
    if (code >= 0) process.exit(code);
  })
  .catch((err: unknown) => {
    if (
      err instanceof ConfigError ||
      err instanceof StartupError ||
      err instanceof UwsUnavailableError
    ) {
      console.error(`flow: ${err.message}`);
    } else {
      console.error('flow: failed to start:', err);
    }
    process.exit(1);
  });
