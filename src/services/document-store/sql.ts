/**
 * The one SQL dialect of the document store: PostgreSQL, spoken both by the
 * embedded PGlite and by a PostgreSQL server, so the schema and every query
 * live here once.
 */

/** The part of a PGlite handle or a pg Pool the store uses. */
export interface SqlClient {
  query<Row>(text: string, params?: unknown[]): Promise<{ rows: Row[]; rowCount: number }>;
  /** Runs `work` in one transaction on one connection; rolls back when it throws. */
  transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T>;
}

export type SqlExecutor = Pick<SqlClient, 'query'>;

/** A migration runs once per database, inside the transaction that records it. */
export interface Migration {
  /** Sorted and recorded by this id: `NNN-name`. Never rename or edit one that shipped. */
  id: string;
  sql: string;
}

export const MIGRATIONS_TABLE = 'flow_schema_migrations';
export const DOCUMENTS_TABLE = 'flow_documents';

export const MIGRATIONS: readonly Migration[] = [
  {
    id: '001-documents',
    sql: `
      CREATE TABLE ${DOCUMENTS_TABLE} (
        doc        text        PRIMARY KEY,
        epoch      text        NOT NULL,
        seq        bigint      NOT NULL CHECK (seq >= 0),
        state      jsonb       NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now()
      )`,
  },
];

/**
 * Several processes may start at once against one PostgreSQL: this
 * transaction-scoped advisory lock lets one migrate while the others wait and
 * then find the work done. The number is arbitrary but fixed forever.
 */
const MIGRATION_LOCK_KEY = 7_310_441_201;

export const sql = {
  createMigrationsTable: `
    CREATE TABLE IF NOT EXISTS ${MIGRATIONS_TABLE} (
      id         text        PRIMARY KEY,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`,
  lockMigrations: `SELECT pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`,
  migrationsTableExists: `SELECT to_regclass('${MIGRATIONS_TABLE}')::text AS table`,
  appliedMigrations: `SELECT id FROM ${MIGRATIONS_TABLE}`,
  recordMigration: `INSERT INTO ${MIGRATIONS_TABLE} (id) VALUES ($1)`,
  load: `SELECT epoch, seq, state FROM ${DOCUMENTS_TABLE} WHERE doc = $1`,
  // The WHERE of the upsert is the conditional write: a row is replaced only
  // by a higher seq, so an older or repeated snapshot changes nothing (0 rows).
  // Many snapshots in one statement: arrays of columns, unnested into rows.
  saveMany: `
    INSERT INTO ${DOCUMENTS_TABLE} (doc, epoch, seq, state, updated_at)
    SELECT doc, epoch, seq, state::jsonb, now()
      FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[]) AS t(doc, epoch, seq, state)
    ON CONFLICT (doc) DO UPDATE
      SET epoch = EXCLUDED.epoch, seq = EXCLUDED.seq, state = EXCLUDED.state, updated_at = now()
      WHERE ${DOCUMENTS_TABLE}.seq < EXCLUDED.seq`,
  save: `
    INSERT INTO ${DOCUMENTS_TABLE} (doc, epoch, seq, state, updated_at)
    VALUES ($1, $2, $3, $4::jsonb, now())
    ON CONFLICT (doc) DO UPDATE
      SET epoch = EXCLUDED.epoch, seq = EXCLUDED.seq, state = EXCLUDED.state, updated_at = now()
      WHERE ${DOCUMENTS_TABLE}.seq < EXCLUDED.seq`,
  ping: 'SELECT 1',
} as const;

/** A row of `load`; pg returns bigint as a string, PGlite as a number. */
export interface SnapshotRow {
  epoch: string;
  seq: string | number;
  state: unknown;
}
