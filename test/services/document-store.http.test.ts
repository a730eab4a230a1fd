import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DocumentStoreError } from '../../src/services/document-store';
import {
  HttpDocumentStore,
  type HttpStoreOptions,
} from '../../src/services/document-store/document-store.http';
import { DocumentBackend } from '../support/document-backend';

const snapshot = { epoch: 'ep', seq: 3, state: { nodes: { a: { x: 1 } } } };

describe('HTTP document store: the client side of the contract', () => {
  let backend: DocumentBackend;
  let store: HttpDocumentStore;
  const open = (overrides: Partial<HttpStoreOptions> = {}) =>
    new HttpDocumentStore({
      url: backend.url,
      secret: 'backend-secret',
      timeoutMs: 1000,
      retries: 3,
      backoff: { initialMs: 10, maxMs: 40 },
      ...overrides,
    });

  beforeEach(async () => {
    backend = await DocumentBackend.start('backend-secret');
    store = open();
  });
  afterEach(async () => {
    await store.close();
    await backend.stop();
  });

  it('sends the secret as a Bearer token on every request', async () => {
    await store.save('d1', snapshot);
    await store.load('d1');
    expect(backend.requests.map((r) => [r.method, r.doc, r.authorization])).toEqual([
      ['PUT', 'd1', 'Bearer backend-secret'],
      ['GET', 'd1', 'Bearer backend-secret'],
    ]);
  });

  it('fails at once, without retrying, when the backend refuses the secret', async () => {
    const wrong = open({ secret: 'wrong' });
    const failure = wrong.load('d1');
    await expect(failure).rejects.toThrow(/answered 401/);
    await expect(failure).rejects.toMatchObject({ retryable: false });
    expect(backend.requests).toHaveLength(1);
    await expect(wrong.health()).resolves.toMatchObject({ ok: false, reason: /401/ });
  });

  it('retries a server failure and succeeds when the backend recovers', async () => {
    backend.failures.push(503, 502, 500);
    await expect(store.save('d1', snapshot)).resolves.toBe(true);
    expect(backend.requests.map((r) => r.method)).toEqual(['PUT', 'PUT', 'PUT', 'PUT']);
    expect(backend.documents.get('d1')).toEqual(snapshot);
    await expect(store.health()).resolves.toEqual({ ok: true });
  });

  it('gives up after the configured retries, naming the last answer', async () => {
    backend.failures.push(503, 503, 503, 503, 503);
    await expect(store.load('d1')).rejects.toThrow(/GET .*\/docs\/d1 answered 503/);
    expect(backend.requests).toHaveLength(4);
  });

  it('does not retry an answer that would not change (400)', async () => {
    backend.failures.push(400);
    await expect(store.save('d1', snapshot)).rejects.toMatchObject({
      name: 'DocumentStoreError',
      retryable: false,
    });
    expect(backend.requests).toHaveLength(1);
  });

  it('times out a backend that does not answer, then retries', async () => {
    backend.stalls.push(3000);
    const started = Date.now();
    await expect(store.save('d1', snapshot)).resolves.toBe(true);
    // The first attempt was cut at the 1 s time-out, not left for 3 s.
    expect(Date.now() - started).toBeLessThan(2500);
    expect(backend.requests).toHaveLength(2);
  });

  it('reports a time-out when every attempt stalls', async () => {
    const once = open({ retries: 0, timeoutMs: 200 });
    backend.stalls.push(1000);
    await expect(once.load('d1')).rejects.toThrow(/timed out/);
  });

  it('treats 409 as "the backend already holds this seq or a newer one"', async () => {
    await expect(store.save('d1', snapshot)).resolves.toBe(true);
    await expect(store.save('d1', snapshot)).resolves.toBe(false);
    await expect(store.save('d1', { ...snapshot, seq: 2 })).resolves.toBe(false);
    expect(backend.documents.get('d1')?.seq).toBe(3);
  });

  it('rejects a malformed snapshot from the backend instead of starting the document over', async () => {
    backend.documents.set('bad', { epoch: 'ep', seq: -1 } as never);
    const failure = store.load('bad');
    await expect(failure).rejects.toBeInstanceOf(DocumentStoreError);
    await expect(failure).rejects.toThrow(/not \{"epoch"/);
  });

  it('rejects a load when the backend is not there', async () => {
    const gone = open({ retries: 1 });
    await backend.stop();
    await expect(gone.load('d1')).rejects.toThrow(/ECONNREFUSED/);
  });
});
