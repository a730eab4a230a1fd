import { MIGRATIONS, sql, type Migration, type SqlClient, type SqlExecutor } from './sql';

/**
 * Applies every migration the database has not recorded, in id order, each
 * in its own transaction with its record, under a lock that serialises
 * processes starting together (a concurrent CREATE TABLE IF NOT EXISTS can
 * itself fail in PostgreSQL, so even the bookkeeping table is made under it).
 * Running it again applies nothing. Resolves to the ids applied by this call.
 */
export async function migrate(
  client: SqlClient,
  migrations: readonly Migration[] = MIGRATIONS,
): Promise<string[]> {
  const applied: string[] = [];
  const ordered = [...migrations].sort((a, b) => a.id.localeCompare(b.id));
  for (const migration of ordered) {
    const ran = await client.transaction(async (tx) => {
      if ((await appliedIds(tx)).has(migration.id)) return false;
      await tx.query(migration.sql);
      await tx.query(sql.recordMigration, [migration.id]);
      return true;
    });
    if (ran) applied.push(migration.id);
  }
  return applied;
}

/**
 * Ids of the migrations this code knows that the database has not applied.
 * Reads only, so that a server's role needs no right to create tables.
 */
export async function pendingMigrations(
  client: SqlClient,
  migrations: readonly Migration[] = MIGRATIONS,
): Promise<string[]> {
  const exists = await client.query<{ table: string | null }>(sql.migrationsTableExists);
  const done = exists.rows[0]?.table
    ? new Set((await client.query<{ id: string }>(sql.appliedMigrations)).rows.map((r) => r.id))
    : new Set<string>();
  return migrations.map((m) => m.id).filter((id) => !done.has(id));
}

async function appliedIds(tx: SqlExecutor): Promise<Set<string>> {
  await tx.query(sql.lockMigrations);
  await tx.query(sql.createMigrationsTable);
  const rows = (await tx.query<{ id: string }>(sql.appliedMigrations)).rows;
  return new Set(rows.map((row) => row.id));
}
