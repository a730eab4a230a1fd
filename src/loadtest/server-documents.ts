import type { DocState } from '../protocol';
import type { ServerDocument } from './checker';
import { stateDigest } from './state-digest';

const CONCURRENCY = 16;
const TIMEOUT_MS = 10_000;

/** http://HOST:PORT of a gateway's ws://HOST:PORT/ws URL. */
export function httpBase(wsUrl: string): string {
  const url = new URL(wsUrl);
  url.protocol = url.protocol === 'wss:' ? 'https:' : 'http:';
  return `${url.protocol}//${url.host}`;
}

interface DocumentAnswer {
  doc: string;
  epoch: string;
  seq: number;
  state: DocState;
}

/**
 * What `GET /docs/:doc` answers for each document: null for a 404. A gateway
 * that does not answer (a fault may have killed it) is skipped for the next;
 * a document no gateway answered for is left out of the map.
 */
export async function fetchServerDocuments(
  urls: readonly string[],
  docs: readonly string[],
): Promise<Map<string, ServerDocument | null>> {
  const bases = [...new Set(urls.map(httpBase))];
  const result = new Map<string, ServerDocument | null>();
  let next = 0;
  let preferred = 0;
  const fetchOne = async (doc: string): Promise<void> => {
    for (let attempt = 0; attempt < bases.length; attempt++) {
      const base = bases[(preferred + attempt) % bases.length] as string;
      try {
        const res = await fetch(`${base}/docs/${encodeURIComponent(doc)}`, {
          signal: AbortSignal.timeout(TIMEOUT_MS),
        });
        if (res.status === 404) {
          result.set(doc, null);
          return;
        }
        if (!res.ok) throw new Error(`HTTP ${res.status}`);
        const body = (await res.json()) as DocumentAnswer;
        result.set(doc, { epoch: body.epoch, seq: body.seq, digest: stateDigest(body.state) });
        return;
      } catch {
        preferred = (preferred + attempt + 1) % bases.length;
      }
    }
  };
  const worker = async () => {
    while (next < docs.length) await fetchOne(docs[next++] as string);
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, docs.length) }, worker));
  return result;
}
