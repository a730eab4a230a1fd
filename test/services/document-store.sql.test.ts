import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configFrom } from '../../src/config';
import { createDocumentStore, migrateDocumentStore } from '../../src/services/document-store';
import { openEmbeddedStore } from '../../src/services/document-store/document-store.embedded';
import { openPostgresStore } from '../../src/services/document-store/document-store.postgres';
import { migrate, pendingMigrations } from '../../src/services/document-store/migrations';
import { MIGRATIONS, MIGRATIONS_TABLE } from '../../src/services/document-store/sql';
import { SingleProcessBusyError, StartupError } from '../../src/config/startup-error';
import { startPostgres, type StartedPostgres } from '../support/postgres-harness';

const log = pino({ level: 'silent' });

describe('document store schema on PostgreSQL', () => {
  let server: StartedPostgres;
  let admin: pg.Client;

  /** A database of its own for one test: migrations are per database. */
  async function freshDatabase(): Promise<string> {
    const name = `t_${randomBytes(6).toString('hex')}`;
    await admin.query(`CREATE DATABASE ${name}`);
    const url = new URL(server.url);
    url.pathname = `/${name}`;
    return url.toString();
  }

  beforeAll(async () => {
    server = await startPostgres();
    admin = new pg.Client(server.url);
    await admin.connect();
  }, 120_000);

  afterAll(async () => {
    await admin?.end();
    await server?.stop();
  });

  it('applies each migration once, however often it runs', async () => {
    const { store, client } = openPostgresStore({
      url: await freshDatabase(),
      poolSize: 2,
      timeoutMs: 5000,
    });
    try {
      expect(await pendingMigrations(client)).toEqual(MIGRATIONS.map((m) => m.id));
      expect(await migrate(client)).toEqual(['001-documents']);
      expect(await migrate(client)).toEqual([]);
      expect(await pendingMigrations(client)).toEqual([]);
      const { rows } = await client.query<{ id: string }>(`SELECT id FROM ${MIGRATIONS_TABLE}`);
      expect(rows.map((r) => r.id)).toEqual(['001-documents']);
    } finally {
      await store.close();
    }
  });

  it('lets processes starting together migrate one database once', async () => {
    const url = await freshDatabase();
    const opened = Array.from({ length: 4 }, () =>
      openPostgresStore({ url, poolSize: 2, timeoutMs: 5000 }),
    );
    try {
      const applied = await Promise.all(opened.map(({ client }) => migrate(client)));
      expect(applied.flat()).toEqual(['001-documents']);
    } finally {
      await Promise.all(opened.map(({ store }) => store.close()));
    }
  });

  it('refuses to start on an unmigrated database, naming "flow migrate"; flow migrate fixes it', async () => {
    const config = configFrom({ DOCUMENT_STORE: await freshDatabase() });
    await expect(createDocumentStore(config, log, { severalProcesses: true })).rejects.toThrow(
      /lacks the migrations 001-documents: run "flow migrate"/,
    );
    await expect(migrateDocumentStore(config)).resolves.toMatchObject({
      applied: ['001-documents'],
    });
    await expect(migrateDocumentStore(config)).resolves.toMatchObject({ applied: [] });
    const store = await createDocumentStore(config, log, { severalProcesses: true });
    await store?.close();
  });

  it('serves with a role that may only read and write rows, once an owner migrated', async () => {
    const url = await freshDatabase();
    const name = new URL(url).pathname.slice(1);
    const role = `app_${randomBytes(4).toString('hex')}`;
    await admin.query(`CREATE ROLE ${role} LOGIN`);
    await admin.query(`REVOKE CREATE ON DATABASE ${name} FROM PUBLIC`);
    await expect(migrateDocumentStore(configFrom({ DOCUMENT_STORE: url }))).resolves.toMatchObject({
      applied: ['001-documents'],
    });
    const owner = new pg.Client(url);
    await owner.connect();
    try {
      await owner.query(`REVOKE CREATE ON SCHEMA public FROM PUBLIC`);
      await owner.query(`GRANT USAGE ON SCHEMA public TO ${role}`);
      await owner.query(`GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA public TO ${role}`);
    } finally {
      await owner.end();
    }
    const appUrl = new URL(url);
    appUrl.username = role;
    const store = await createDocumentStore(
      configFrom({ DOCUMENT_STORE: appUrl.toString() }),
      log,
      { severalProcesses: true },
    );
    try {
      await expect(store!.save('d', { epoch: 'e', seq: 1, state: {} })).resolves.toBe(true);
      await expect(store!.load('d')).resolves.toMatchObject({ seq: 1 });
    } finally {
      await store?.close();
    }
  });

  it('says what to check when PostgreSQL does not answer, without the password', async () => {
    const config = configFrom({
      DOCUMENT_STORE: 'postgres://flow:hunter2@127.0.0.1:1/flow',
      DOCUMENT_STORE_MIGRATE: 'true',
      DOCUMENT_STORE_TIMEOUT_MS: '2000',
    });
    const failure = createDocumentStore(config, log, { severalProcesses: true });
    await expect(failure).rejects.toBeInstanceOf(StartupError);
    await expect(failure).rejects.toThrow(/cannot be opened: .*check that PostgreSQL runs/);
    await expect(failure).rejects.not.toThrow(/hunter2/);
  });
});

describe('embedded document store', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'flow-store-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps documents across a reopen, migrating at start by default, once', async () => {
    const config = configFrom({ DOCUMENT_STORE: `file:${path.join(dir, 'kept')}` });
    const first = await createDocumentStore(config, log, { severalProcesses: false });
    await first!.save('d', { epoch: 'e', seq: 4, state: { n: { a: { v: 1 } } } });
    await first!.close();
    const second = await openEmbeddedStore(path.join(dir, 'kept'));
    try {
      expect(await pendingMigrations(second.client)).toEqual([]);
      expect(await migrate(second.client)).toEqual([]);
      await expect(second.store.load('d')).resolves.toEqual({
        epoch: 'e',
        seq: 4,
        state: { n: { a: { v: 1 } } },
      });
    } finally {
      await second.store.close();
    }
  }, 120_000);

  it('refuses a second opener of the same directory while the first has it', async () => {
    const first = await openEmbeddedStore(path.join(dir, 'locked'));
    try {
      await expect(openEmbeddedStore(path.join(dir, 'locked'))).rejects.toBeInstanceOf(
        SingleProcessBusyError,
      );
      await expect(openEmbeddedStore(path.join(dir, 'locked'))).rejects.toThrow(
        /is open in process \d+.*DOCUMENT_STORE=postgres:/,
      );
    } finally {
      await first.store.close();
    }
  }, 120_000);
});
