import pg from 'pg';
import type { DocState } from '../protocol';
import type { ServerDocument } from './document-log';
import { stateDigest } from './state-digest';

/**
 * Where the load tester reads the document store after a run, as an operator
 * would: a PostgreSQL URL (the table of docs/document-store.md), or the
 * application's HTTP store (`GET {url}/{doc}`, with its secret).
 */
export interface StoreTarget {
  url: string;
  secret?: string | undefined;
}

/** The table docs/document-store.md documents: doc, epoch, seq, state (jsonb). */
const DOCUMENTS_TABLE = 'flow_documents';
const POLL_MS = 500;
const HTTP_TIMEOUT_MS = 10_000;

interface Stored {
  epoch: string;
  seq: number;
  state: DocState;
}

/**
 * The stored snapshot of each document (null when the store has none),
 * polled until each is at least at the seq the server reported (`until`) or
 * `waitMs` passed: snapshots are written a debounce after the last edit.
 */
export async function fetchStoredDocuments(
  target: StoreTarget,
  until: ReadonlyMap<string, { epoch: string; seq: number } | null>,
  waitMs: number,
): Promise<Map<string, ServerDocument | null>> {
  const reader = storeReader(target);
  const deadline = Date.now() + waitMs;
  const result = new Map<string, ServerDocument | null>();
  let waiting = [...until.keys()];
  try {
    for (;;) {
      const found = await reader.read(waiting);
      for (const doc of waiting) {
        const stored = found.get(doc) ?? null;
        result.set(
          doc,
          stored && { epoch: stored.epoch, seq: stored.seq, digest: stateDigest(stored.state) },
        );
      }
      waiting = waiting.filter((doc) => {
        const want = until.get(doc);
        const have = result.get(doc);
        return want != null && (have == null || have.epoch !== want.epoch || have.seq < want.seq);
      });
      if (waiting.length === 0 || Date.now() >= deadline) return result;
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  } finally {
    await reader.close();
  }
}

interface StoreReader {
  read(docs: readonly string[]): Promise<Map<string, Stored>>;
  close(): Promise<void>;
}

function storeReader(target: StoreTarget): StoreReader {
  const url = new URL(target.url);
  if (url.protocol === 'postgres:' || url.protocol === 'postgresql:') {
    const pool = new pg.Pool({ connectionString: target.url, max: 2 });
    return {
      async read(docs) {
        const { rows } = await pool.query<{ doc: string } & Stored>(
          `SELECT doc, epoch, seq::int AS seq, state FROM ${DOCUMENTS_TABLE} WHERE doc = ANY($1)`,
          [docs],
        );
        return new Map(rows.map((row) => [row.doc, row]));
      },
      close: () => pool.end(),
    };
  }
  if (url.protocol === 'http:' || url.protocol === 'https:') {
    const base = target.url.replace(/\/+$/, '');
    const headers: Record<string, string> = target.secret
      ? { authorization: `Bearer ${target.secret}` }
      : {};
    return {
      async read(docs) {
        const found = new Map<string, Stored>();
        for (const doc of docs) {
          const res = await fetch(`${base}/${encodeURIComponent(doc)}`, {
            headers,
            signal: AbortSignal.timeout(HTTP_TIMEOUT_MS),
          });
          if (res.status === 404) continue;
          if (!res.ok) throw new Error(`the store answered HTTP ${res.status} for ${doc}`);
          found.set(doc, (await res.json()) as Stored);
        }
        return found;
      },
      close: async () => undefined,
    };
  }
  throw new Error(
    `--store must be a postgres:// or http(s):// URL (an embedded file: store is private to its process), not "${target.url}"`,
  );
}
