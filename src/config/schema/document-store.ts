import convict from 'convict';

/**
 * `auto`, `true` or `false`: a switch whose default depends on another key
 * (DOCUMENT_STORE_MIGRATE is on by default for an embedded store only).
 */
convict.addFormat({
  name: 'auto-flag',
  validate(value: unknown) {
    if (value !== 'auto' && value !== 'true' && value !== 'false') {
      throw new Error('must be true, false (or 1, 0), or auto');
    }
  },
  coerce(value: unknown) {
    if (value === '1') return 'true';
    if (value === '0') return 'false';
    if (value === '') return 'auto';
    return value;
  },
});

convict.addFormat({
  name: 'document-store',
  validate(value: unknown) {
    if (typeof value !== 'string') throw new Error('must be a string');
    if (/^(auto|none|)$/.test(value) || /^file:.+/.test(value)) return;
    if (/^(postgres|postgresql|https?):\/\/[^/]/.test(value)) return;
    throw new Error(
      'must be auto, none, file:PATH, postgres://user:password@host:port/database or http(s)://backend/path',
    );
  },
});

/** Durable documents: where snapshots are kept and when they are written. Spread into the schema. */
export const documentStoreSchema = {
  documentStore: {
    target: {
      doc: 'Where documents are kept durably: file:PATH (embedded PostgreSQL in this process, one process only), postgres://... (PostgreSQL; TLS per sslmode), http(s)://... (the application backend, see docs/document-store.md), none (only Redis or memory, for REDIS_SESSION_TTL), or auto: file:./data/documents when every USE_REDIS_* flag is off, none otherwise.',
      format: 'document-store',
      default: 'auto',
      env: 'DOCUMENT_STORE',
      // A postgres:// URL carries its password: `flow config` shows it as ***.
      urlWithPassword: true,
    },
    secret: {
      doc: 'Shared secret sent to an http(s) document store as `Authorization: Bearer <secret>`.',
      format: String,
      default: '',
      env: 'DOCUMENT_STORE_SECRET',
      sensitive: true,
    },
    migrate: {
      doc: 'Apply the store schema migrations at start (as `flow migrate` does): true, false, or auto (true for file:, false otherwise).',
      format: 'auto-flag',
      default: 'auto',
      env: 'DOCUMENT_STORE_MIGRATE',
    },
    timeoutMs: {
      doc: 'Milliseconds one document store request (an HTTP request, a PostgreSQL connection or statement) may take before it fails.',
      format: 'positive-int',
      default: 5000,
      env: 'DOCUMENT_STORE_TIMEOUT_MS',
    },
    retries: {
      doc: 'Retries of a failed HTTP document store request that may succeed on retry (network error, time-out, 408, 425, 429, 5xx).',
      format: 'nat',
      default: 3,
      env: 'DOCUMENT_STORE_RETRIES',
    },
    retryDelayMs: {
      doc: 'Milliseconds before the first retry of an HTTP document store request; doubles per retry, with jitter.',
      format: 'positive-int',
      default: 200,
      env: 'DOCUMENT_STORE_RETRY_DELAY_MS',
    },
    poolSize: {
      doc: 'PostgreSQL connections one process holds at most.',
      format: 'positive-int',
      default: 10,
      env: 'DOCUMENT_STORE_POOL_SIZE',
    },
    debounceMs: {
      doc: 'Milliseconds a document must be quiet before its snapshot is stored.',
      format: 'positive-int',
      default: 2000,
      env: 'STORE_DEBOUNCE_MS',
    },
    maxDelayMs: {
      doc: 'Milliseconds an edit waits at most before a snapshot holding it is stored, while edits keep coming. With documents in Redis, one process looks every three times this long (1-60 s) for unsaved documents that no process is storing.',
      format: 'positive-int',
      default: 10000,
      env: 'STORE_MAX_DELAY_MS',
    },
    concurrency: {
      doc: 'Writes to the document store one process runs at once; a SQL store takes up to 100 snapshots in one write.',
      format: 'positive-int',
      default: 8,
      env: 'STORE_CONCURRENCY',
    },
    retryMaxMs: {
      doc: 'Longest pause, in milliseconds, between attempts to store snapshots while the document store is down.',
      format: 'positive-int',
      default: 30000,
      env: 'STORE_RETRY_MAX_MS',
    },
  },
};
