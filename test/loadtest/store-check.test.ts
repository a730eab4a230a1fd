import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LoadOptions } from '../../src/loadtest/options';
import { runLoadTest } from '../../src/loadtest/runner';
import { DocumentBackend } from '../support/document-backend';
import { startPostgres, type StartedPostgres } from '../support/postgres-harness';
import { startTestServer } from '../support/test-server';

/**
 * With --store the load tester also reads the document store after the run
 * and holds each document's snapshot against GET /docs/:doc: it must reach
 * the server's final seq, with the same state.
 */
const quiet = { log: () => undefined, progress: () => undefined };

function options(url: string, store: LoadOptions['store']): LoadOptions {
  return {
    urls: [url],
    clients: 4,
    docs: 2,
    members: 2,
    rate: 100,
    presenceRate: 0,
    opSize: 100,
    durationS: 1.5,
    rampUpS: 0.2,
    threads: 1,
    drainTimeoutS: 5,
    faults: [],
    report: undefined,
    store,
    progress: false,
    json: false,
    runId: Math.random().toString(36).slice(2, 8),
  };
}

const serverWith = (store: Record<string, string>) =>
  startTestServer({ STORE_DEBOUNCE_MS: '100', STORE_MAX_DELAY_MS: '500', ...store });

describe('load tester --store', () => {
  let postgres: StartedPostgres;
  beforeAll(async () => {
    postgres = await startPostgres();
  }, 60_000);
  afterAll(() => postgres?.stop());

  it('finds a PostgreSQL store the server writes to in step with the server', async () => {
    const server = await serverWith({
      DOCUMENT_STORE: postgres.url,
      DOCUMENT_STORE_MIGRATE: 'true',
    });
    try {
      const report = await runLoadTest(
        options(server.url, { url: postgres.url, secret: undefined, waitS: 10 }),
        quiet,
      );
      expect(report.check.anomalies).toEqual([]);
      expect(report.ok).toBe(true);
      expect(report.check.seqs).toBeGreaterThan(0);
    } finally {
      await server.close();
    }
  }, 60_000);

  it('reports a stored snapshot whose state differs from the server', async () => {
    const backend = await DocumentBackend.start();
    const server = await serverWith({
      DOCUMENT_STORE: backend.url,
      DOCUMENT_STORE_SECRET: backend.secret,
    });
    // The store keeps what it was sent, but serves another state back.
    const get = backend.documents.get.bind(backend.documents);
    backend.documents.get = (doc: string) => {
      const stored = get(doc);
      return stored && { ...stored, state: { tampered: { x: { v: 1 } } } };
    };
    try {
      const report = await runLoadTest(
        options(server.url, { url: backend.url, secret: backend.secret, waitS: 10 }),
        quiet,
      );
      expect(report.ok).toBe(false);
      expect(report.check.counts['store-mismatch']).toBe(2);
      expect(report.check.counts['store-behind']).toBeUndefined();
    } finally {
      await server.close();
      await backend.stop();
    }
  }, 60_000);

  it('reports a store that never caught up with the server', async () => {
    const backend = await DocumentBackend.start();
    const server = await serverWith({ DOCUMENT_STORE: 'none' });
    try {
      const report = await runLoadTest(
        options(server.url, { url: backend.url, secret: backend.secret, waitS: 1 }),
        quiet,
      );
      expect(report.ok).toBe(false);
      expect(report.check.counts['store-behind']).toBe(2);
      expect(report.check.anomalies[0]?.detail).toContain('the store has no snapshot');
    } finally {
      await server.close();
      await backend.stop();
    }
  }, 60_000);
});
