import type { FlowConfig } from '../../config';
import { StartupError } from '../../config/startup-error';

/** What DOCUMENT_STORE names, resolved. */
export type DocumentStoreTarget =
  | { kind: 'none'; defaulted: boolean }
  | { kind: 'embedded'; path: string; defaulted: boolean }
  | { kind: 'postgres'; url: string }
  | { kind: 'http'; url: string };

export const DEFAULT_EMBEDDED_PATH = './data/documents';

/**
 * `auto` keeps documents on disk for the configuration that has nowhere else
 * to keep them (every USE_REDIS_* flag off: `npm start`), and adds nothing to
 * a Redis deployment that did not ask for a store.
 */
export function documentStoreTarget(config: FlowConfig): DocumentStoreTarget {
  const value = config.documentStore.target;
  if (value === 'auto') {
    const { flags } = config;
    const anyRedis = flags.websockets || flags.collaboration || flags.eventOrdering;
    return anyRedis
      ? { kind: 'none', defaulted: true }
      : { kind: 'embedded', path: DEFAULT_EMBEDDED_PATH, defaulted: true };
  }
  if (value === '' || value === 'none') return { kind: 'none', defaulted: false };
  if (value.startsWith('file:')) {
    return { kind: 'embedded', path: value.slice('file:'.length), defaulted: false };
  }
  if (/^postgres(ql)?:\/\//.test(value)) return { kind: 'postgres', url: value };
  return { kind: 'http', url: value };
}

/** For logs and errors: the target without the credentials a URL may carry. */
export function describeTarget(target: DocumentStoreTarget): string {
  switch (target.kind) {
    case 'none':
      return 'none';
    case 'embedded':
      return `file:${target.path}`;
    case 'postgres':
    case 'http': {
      const url = new URL(target.url);
      if (url.password !== '') url.password = '***';
      url.search = '';
      return url.toString();
    }
  }
}

/** Whether the server applies the migrations itself at start (DOCUMENT_STORE_MIGRATE). */
export function migratesAtStart(config: FlowConfig, target: DocumentStoreTarget): boolean {
  const setting = config.documentStore.migrate;
  if (setting === 'auto') return target.kind === 'embedded';
  return setting === 'true' && (target.kind === 'embedded' || target.kind === 'postgres');
}

/**
 * An embedded store lives in one process's memory and files, so it cannot
 * serve a configuration that runs several processes. The composition root
 * knows that from the role and flags: separate `gateway`/`worker` roles, or
 * the flags that let several `all` processes share documents
 * (USE_REDIS_COLLABORATION and USE_REDIS_WEBSOCKETS), mean several processes.
 */
export function assertStoreServesProcesses(
  target: DocumentStoreTarget,
  severalProcesses: boolean,
): void {
  if (target.kind !== 'embedded' || !severalProcesses) return;
  const why = target.defaulted ? ' (the default when every USE_REDIS_* flag is off)' : '';
  throw new StartupError(
    `the embedded document store file:${target.path}${why} serves one process, and this ` +
      'configuration runs several (separate gateway/worker roles, or Redis collaboration and ' +
      'WebSockets): set DOCUMENT_STORE=postgres://user:password@host:5432/database, ' +
      'or DOCUMENT_STORE=none to keep documents only in Redis',
  );
}
