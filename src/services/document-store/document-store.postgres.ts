import { Pool, type PoolClient } from 'pg';
import type { DocumentStore } from './document-store';
import { SqlDocumentStore } from './document-store.sql';
import type { SqlClient, SqlExecutor } from './sql';

export interface PostgresStoreOptions {
  /** `postgres://user:password@host:port/db?sslmode=verify-full`; TLS follows `sslmode`. */
  url: string;
  poolSize: number;
  /** Milliseconds for a connection and for one statement. */
  timeoutMs: number;
}

/** PostgreSQL through a pool: any number of processes may share one database. */
export function openPostgresStore(options: PostgresStoreOptions): {
  store: DocumentStore;
  client: SqlClient;
} {
  const pool = new Pool({
    connectionString: options.url,
    max: options.poolSize,
    connectionTimeoutMillis: options.timeoutMs,
    statement_timeout: options.timeoutMs,
    query_timeout: options.timeoutMs,
    application_name: 'flow-realtime',
  });
  // An idle client's connection dropping (a server restart) is reported here;
  // without a listener it would crash the process. The next query reconnects.
  pool.on('error', () => undefined);
  const client = poolClient(pool);
  return { store: new SqlDocumentStore('postgres', client, () => pool.end()), client };
}

function poolClient(pool: Pool): SqlClient {
  const executor = (q: Pool | PoolClient): SqlExecutor => ({
    async query<Row>(text: string, params?: unknown[]) {
      const result = await q.query(text, params);
      return { rows: result.rows as Row[], rowCount: result.rowCount ?? 0 };
    },
  });
  return {
    ...executor(pool),
    async transaction(work) {
      const connection = await pool.connect();
      try {
        await connection.query('BEGIN');
        const result = await work(executor(connection));
        await connection.query('COMMIT');
        return result;
      } catch (err) {
        await connection.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        connection.release();
      }
    },
  };
}
