import type { DocState } from '../../protocol';
import {
  DocumentStoreError,
  type DocumentStore,
  type StoreHealth,
  type StoredSnapshot,
} from './document-store';
import { backoffDelay, sleep, type BackoffPolicy } from './retry';

export interface HttpStoreOptions {
  /** Base URL; a document lives at `{url}/{encodeURIComponent(doc)}`. */
  url: string;
  /** Sent as `Authorization: Bearer <secret>`; empty sends no header. */
  secret: string;
  /** Milliseconds for one request, from sending to the end of the body. */
  timeoutMs: number;
  /** Retries after the first attempt, for retryable failures only. */
  retries: number;
  backoff: BackoffPolicy;
}

/** Answers that may change by trying again: time-out, overload, a server or proxy failing. */
const RETRYABLE_STATUS = new Set([408, 425, 429, 500, 502, 503, 504]);

/**
 * The application's own backend as the document store (docs/document-store.md
 * is its contract). A PUT is idempotent there: the backend keeps a snapshot
 * only when its seq is higher, so retrying a PUT whose answer was lost is safe.
 */
export class HttpDocumentStore implements DocumentStore {
  readonly kind = 'http';
  private readonly base: string;
  private lastFailure: string | null = null;
  private closed = false;

  constructor(private readonly options: HttpStoreOptions) {
    this.base = options.url.replace(/\/+$/, '');
  }

  async load(doc: string): Promise<StoredSnapshot | null> {
    const response = await this.request('GET', doc);
    if (response.status === 404) return null;
    return parseSnapshot(doc, response.body);
  }

  async save(doc: string, snapshot: StoredSnapshot): Promise<boolean> {
    const body = JSON.stringify({
      epoch: snapshot.epoch,
      seq: snapshot.seq,
      state: snapshot.state,
    });
    const response = await this.request('PUT', doc, body);
    // 409: the backend already holds this seq or a newer one, which is success.
    return response.status !== 409;
  }

  /** The outcome of the latest request: the contract has no health route to ask. */
  async health(): Promise<StoreHealth> {
    return this.lastFailure === null ? { ok: true } : { ok: false, reason: this.lastFailure };
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private async request(
    method: 'GET' | 'PUT',
    doc: string,
    body?: string,
  ): Promise<{ status: number; body: string }> {
    if (this.closed) throw new DocumentStoreError('the http document store is closed', false);
    const url = `${this.base}/${encodeURIComponent(doc)}`;
    for (let attempt = 0; ; attempt++) {
      let failure: DocumentStoreError;
      try {
        const response = await this.attempt(method, url, body);
        const ok =
          (response.status >= 200 && response.status < 300) ||
          (method === 'GET' && response.status === 404) ||
          (method === 'PUT' && response.status === 409);
        if (ok) {
          this.lastFailure = null;
          return response;
        }
        failure = new DocumentStoreError(
          `${method} ${url} answered ${response.status}${describeBody(response.body)}`,
          RETRYABLE_STATUS.has(response.status),
        );
      } catch (err) {
        failure = new DocumentStoreError(`${method} ${url} failed: ${reasonOf(err)}`, true, {
          cause: err,
        });
      }
      this.lastFailure = failure.message;
      if (!failure.retryable || attempt >= this.options.retries || this.closed) throw failure;
      await sleep(backoffDelay(this.options.backoff, attempt + 1));
    }
  }

  private async attempt(
    method: string,
    url: string,
    body: string | undefined,
  ): Promise<{ status: number; body: string }> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.options.secret !== '') headers.authorization = `Bearer ${this.options.secret}`;
    // One signal for the whole exchange: a backend that sends headers and
    // then stalls the body is timed out too.
    const signal = AbortSignal.timeout(this.options.timeoutMs);
    const response = await fetch(url, { method, headers, body, signal, redirect: 'error' });
    return { status: response.status, body: await response.text() };
  }
}

function parseSnapshot(doc: string, text: string): StoredSnapshot {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new DocumentStoreError(`the backend's snapshot of "${doc}" is not JSON`, false);
  }
  const v = value as Partial<StoredSnapshot> | null;
  if (
    typeof v !== 'object' ||
    v === null ||
    typeof v.epoch !== 'string' ||
    v.epoch === '' ||
    typeof v.seq !== 'number' ||
    !Number.isSafeInteger(v.seq) ||
    v.seq < 0 ||
    typeof v.state !== 'object' ||
    v.state === null ||
    Array.isArray(v.state)
  ) {
    throw new DocumentStoreError(
      `the backend's snapshot of "${doc}" is not {"epoch": string, "seq": whole number, "state": object}`,
      false,
    );
  }
  return { epoch: v.epoch, seq: v.seq, state: v.state as DocState };
}

function reasonOf(err: unknown): string {
  const e = err as Error & { cause?: { code?: string; message?: string } };
  if (e.name === 'TimeoutError') return 'timed out';
  return e.cause?.code ?? e.cause?.message ?? e.message;
}

function describeBody(body: string): string {
  const text = body.trim().slice(0, 200);
  return text === '' ? '' : `: ${text}`;
}
