import type { FlowConfig } from '../../config';
import type { Logger } from 'pino';
import { StartupError } from '../../config/startup-error';
import type { DocumentStore } from './document-store';
import { openEmbeddedStore } from './document-store.embedded';
import { HttpDocumentStore } from './document-store.http';
import { openPostgresStore } from './document-store.postgres';
import { migrate, pendingMigrations } from './migrations';
import type { SqlClient } from './sql';
import {
  assertStoreServesProcesses,
  describeTarget,
  documentStoreTarget,
  migratesAtStart,
  type DocumentStoreTarget,
} from './store-target';

export * from './document-store';
export * from './save-scheduler';
export {
  assertStoreServesProcesses,
  describeTarget,
  documentStoreTarget,
  type DocumentStoreTarget,
} from './store-target';

export interface DocumentStoreStartOptions {
  /** True when this configuration runs more than one process; see assertStoreServesProcesses. */
  severalProcesses: boolean;
}

/**
 * The only reader of DOCUMENT_STORE. Opens the configured store, applies or
 * checks its migrations, and resolves to null when documents are kept only
 * in Redis or memory (`none`), after one warning line saying for how long.
 */
export async function createDocumentStore(
  config: FlowConfig,
  log: Logger,
  options: DocumentStoreStartOptions,
): Promise<DocumentStore | null> {
  const target = documentStoreTarget(config);
  assertStoreServesProcesses(target, options.severalProcesses);
  if (target.kind === 'none') {
    warnNoStore(config, log, target.defaulted);
    return null;
  }
  if (target.kind === 'http') {
    log.info({ store: describeTarget(target) }, '✅ Using the HTTP document store');
    return new HttpDocumentStore({
      url: target.url,
      secret: config.documentStore.secret,
      timeoutMs: config.documentStore.timeoutMs,
      retries: config.documentStore.retries,
      backoff: {
        initialMs: config.documentStore.retryDelayMs,
        maxMs: config.documentStore.timeoutMs,
      },
    });
  }
  const { store, client } = await openSqlStore(config, target);
  try {
    if (migratesAtStart(config, target)) {
      const applied = await migrate(client);
      if (applied.length > 0) log.info({ applied }, 'document store migrations applied');
    } else {
      const pending = await pendingMigrations(client);
      if (pending.length > 0) {
        throw new StartupError(
          `the document store ${describeTarget(target)} lacks the migrations ${pending.join(', ')}: ` +
            'run "flow migrate" with the same configuration, or set DOCUMENT_STORE_MIGRATE=true',
        );
      }
    }
  } catch (err) {
    await store.close().catch(() => undefined);
    throw wrapOpenError(target, err);
  }
  if (target.kind === 'embedded') {
    log.info(
      { store: describeTarget(target) },
      '✅ Using the embedded document store (one process)',
    );
  } else {
    log.info({ store: describeTarget(target) }, '✅ Using the PostgreSQL document store');
  }
  return store;
}

/**
 * `flow migrate`: applies the pending migrations of the configured SQL store
 * and resolves to the ids applied (empty when it was up to date).
 */
export async function migrateDocumentStore(config: FlowConfig): Promise<{
  target: string;
  applied: string[];
}> {
  const target = documentStoreTarget(config);
  if (target.kind === 'none' || target.kind === 'http') {
    throw new StartupError(
      `DOCUMENT_STORE is ${describeTarget(target)}: only file: and postgres:// stores have a schema to migrate`,
    );
  }
  const { store, client } = await openSqlStore(config, target);
  try {
    return { target: describeTarget(target), applied: await migrate(client) };
  } catch (err) {
    throw wrapOpenError(target, err);
  } finally {
    await store.close();
  }
}

async function openSqlStore(
  config: FlowConfig,
  target: Extract<DocumentStoreTarget, { kind: 'embedded' | 'postgres' }>,
): Promise<{ store: DocumentStore; client: SqlClient }> {
  if (target.kind === 'postgres') {
    return openPostgresStore({
      url: target.url,
      poolSize: config.documentStore.poolSize,
      timeoutMs: config.documentStore.timeoutMs,
    });
  }
  try {
    return await openEmbeddedStore(target.path);
  } catch (err) {
    throw wrapOpenError(target, err);
  }
}

function wrapOpenError(target: DocumentStoreTarget, err: unknown): Error {
  if (err instanceof StartupError) return err;
  const hint =
    target.kind === 'postgres'
      ? 'check that PostgreSQL runs, and the URL, user, password and sslmode'
      : 'check that the directory can be written';
  return new StartupError(
    `the document store ${describeTarget(target)} cannot be opened: ${(err as Error).message}; ${hint}`,
  );
}

function warnNoStore(config: FlowConfig, log: Logger, defaulted: boolean): void {
  const details = {
    documentStore: 'none',
    defaulted,
    sessionTtlSeconds: config.redis.sessionTtlSeconds,
  };
  if (config.flags.collaboration) {
    log.warn(
      details,
      'no document store: documents are kept only in Redis, for REDIS_SESSION_TTL seconds after their last edit; set DOCUMENT_STORE to keep them durably',
    );
  } else {
    log.warn(
      details,
      'no document store: documents are kept only in the memory of this process, until it stops; set DOCUMENT_STORE to keep them durably',
    );
  }
}
