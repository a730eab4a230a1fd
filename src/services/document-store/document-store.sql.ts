import type { DocState } from '../../protocol';
import {
  DocumentStoreError,
  type DocumentStore,
  type DocumentStoreKind,
  type StoreHealth,
  type StoredSnapshot,
} from './document-store';
import { sql, type SnapshotRow, type SqlClient } from './sql';

/**
 * The document store over SQL, shared by the embedded PGlite and PostgreSQL:
 * they differ only in the client that runs the queries and how it closes.
 */
export class SqlDocumentStore implements DocumentStore {
  private closed: Promise<void> | undefined;

  constructor(
    readonly kind: DocumentStoreKind,
    private readonly client: SqlClient,
    private readonly release: () => Promise<void>,
  ) {}

  async load(doc: string): Promise<StoredSnapshot | null> {
    const { rows } = await this.run('load', () => this.client.query<SnapshotRow>(sql.load, [doc]));
    const row = rows[0];
    if (!row) return null;
    const seq = Number(row.seq);
    if (!Number.isSafeInteger(seq) || typeof row.state !== 'object' || row.state === null) {
      throw new DocumentStoreError(`the stored snapshot of "${doc}" is malformed`, false);
    }
    return { epoch: row.epoch, seq, state: row.state as DocState };
  }

  async save(doc: string, snapshot: StoredSnapshot): Promise<boolean> {
    const { rowCount } = await this.run('save', () =>
      this.client.query(sql.save, [
        doc,
        snapshot.epoch,
        snapshot.seq,
        JSON.stringify(snapshot.state),
      ]),
    );
    return rowCount === 1;
  }

  async saveMany(
    snapshots: ReadonlyArray<{ doc: string; snapshot: StoredSnapshot }>,
  ): Promise<void> {
    await this.run('save', () =>
      this.client.query(sql.saveMany, [
        snapshots.map((s) => s.doc),
        snapshots.map((s) => s.snapshot.epoch),
        snapshots.map((s) => s.snapshot.seq),
        snapshots.map((s) => JSON.stringify(s.snapshot.state)),
      ]),
    );
  }

  async health(): Promise<StoreHealth> {
    try {
      await this.run('health check', () => this.client.query(sql.ping));
      return { ok: true };
    } catch (err) {
      return { ok: false, reason: (err as Error).message };
    }
  }

  close(): Promise<void> {
    return (this.closed ??= this.release());
  }

  private async run<T>(what: string, query: () => Promise<T>): Promise<T> {
    if (this.closed)
      throw new DocumentStoreError(`the ${this.kind} document store is closed`, false);
    try {
      return await query();
    } catch (err) {
      throw new DocumentStoreError(
        `the ${this.kind} document store failed a ${what}: ${(err as Error).message}`,
        true,
        { cause: err },
      );
    }
  }
}
