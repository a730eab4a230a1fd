import { PGlite } from '@electric-sql/pglite';
import type { DocumentStore } from './document-store';
import { SqlDocumentStore } from './document-store.sql';
import { EmbeddedStoreLock } from './embedded-lock';
import type { SqlClient, SqlExecutor } from './sql';

/**
 * PostgreSQL compiled to WASM, in this process, its data in one directory:
 * durable documents with no server to run, for one process only (the lock).
 */
export async function openEmbeddedStore(dataDir: string): Promise<{
  store: DocumentStore;
  client: SqlClient;
}> {
  const lock = EmbeddedStoreLock.acquire(dataDir);
  let db: PGlite;
  try {
    db = await PGlite.create(dataDir);
  } catch (err) {
    lock.release();
    throw err;
  }
  const client = pgliteClient(db);
  const store = new SqlDocumentStore('embedded', client, async () => {
    try {
      await db.close();
    } finally {
      lock.release();
    }
  });
  return { store, client };
}

function pgliteClient(db: PGlite): SqlClient {
  const executor = (q: Pick<PGlite, 'query'>): SqlExecutor => ({
    async query<Row>(text: string, params?: unknown[]) {
      const result = await q.query<Row>(text, params);
      return { rows: result.rows, rowCount: result.affectedRows ?? 0 };
    },
  });
  return {
    ...executor(db),
    transaction: (work) => db.transaction((tx) => work(executor(tx))),
  };
}
