import { DOC_ID_PATTERN, CLIENT_ID_PATTERN } from '../protocol';
import type { LoadOptions } from './options';

/** One load-test client: its id, the gateway it connects to first, the documents it joins. */
export interface ClientSpec {
  id: string;
  /** Its number in the run; names its entities (ops.ts). */
  index: number;
  /** Index into the URL list. */
  urlIndex: number;
  docs: string[];
}

export interface Plan {
  docs: string[];
  clients: ClientSpec[];
  /** (client, document) pairs: each one sends ops and keeps a replica. */
  memberships: number;
  /** The clients of each generator thread. */
  threads: ClientSpec[][];
}

export function docId(runId: string, i: number): string {
  return `lt-${runId}-d${i}`;
}

export function clientId(runId: string, i: number): string {
  return `lt-${runId}-c${i}`;
}

/**
 * Who joins what. Document d is joined by the `members` clients that follow
 * d * members round the circle of clients, so every client joins about
 * docs * members / clients documents; clients take the gateway URLs in turn
 * and are dealt to the threads in turn.
 */
export function planRun(
  options: Pick<LoadOptions, 'runId' | 'clients' | 'docs' | 'members' | 'urls' | 'threads'>,
): Plan {
  const { runId, clients: clientCount, docs: docCount, members, urls, threads } = options;
  const docs = Array.from({ length: docCount }, (_, i) => docId(runId, i));
  const clients: ClientSpec[] = Array.from({ length: clientCount }, (_, i) => ({
    id: clientId(runId, i),
    index: i,
    urlIndex: i % urls.length,
    docs: [],
  }));
  for (const [d, doc] of docs.entries()) {
    for (let k = 0; k < members; k++) {
      (clients[(d * members + k) % clientCount] as ClientSpec).docs.push(doc);
    }
  }
  for (const doc of docs.slice(0, 1)) {
    if (!DOC_ID_PATTERN.test(doc)) throw new Error(`bad document id ${doc}`);
  }
  for (const client of clients.slice(0, 1)) {
    if (!CLIENT_ID_PATTERN.test(client.id)) throw new Error(`bad client id ${client.id}`);
  }
  const perThread: ClientSpec[][] = Array.from({ length: threads }, () => []);
  for (const client of clients) perThread[client.index % threads]?.push(client);
  return {
    docs,
    clients,
    memberships: docCount * members,
    threads: perThread.filter((list) => list.length > 0),
  };
}

/** The most documents one client joins. */
export function maxDocsPerClient(plan: Plan): number {
  return Math.max(0, ...plan.clients.map((c) => c.docs.length));
}
