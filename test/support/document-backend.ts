import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { StoredSnapshot } from '../../src/services/document-store';

/** One request as the backend received it. */
export interface BackendRequest {
  method: string;
  doc: string;
  authorization: string | undefined;
}

/**
 * An application backend implementing the HTTP document store contract of
 * docs/document-store.md over a Map: GET and PUT `/docs/{doc}`, a Bearer
 * secret, PUT kept only when its seq is higher (409 otherwise). Tests can
 * make the next requests fail or stall to exercise the client's retries.
 */
export class DocumentBackend {
  readonly documents = new Map<string, StoredSnapshot>();
  readonly requests: BackendRequest[] = [];
  /** Statuses answered to the next requests instead of serving them, in order. */
  readonly failures: number[] = [];
  /** Milliseconds the next requests wait before answering, in order. */
  readonly stalls: number[] = [];
  /** While true, every request is answered 503, as by a backend that is down. */
  down = false;
  private readonly server: http.Server;
  private stopped: Promise<void> | undefined;

  private constructor(readonly secret: string) {
    this.server = http.createServer((req, res) => void this.handle(req, res));
  }

  static async start(secret = 'backend-secret'): Promise<DocumentBackend> {
    const backend = new DocumentBackend(secret);
    await new Promise<void>((resolve) => backend.server.listen(0, '127.0.0.1', resolve));
    return backend;
  }

  get url(): string {
    const { port } = this.server.address() as AddressInfo;
    return `http://127.0.0.1:${port}/docs`;
  }

  stop(): Promise<void> {
    this.stopped ??= new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
    return this.stopped;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const match = /^\/docs\/([^/?]+)$/.exec(req.url ?? '');
    const doc = match?.[1] ? decodeURIComponent(match[1]) : '';
    const body = await readBody(req);
    this.requests.push({ method: req.method ?? '', doc, authorization: req.headers.authorization });
    const stall = this.stalls.shift();
    if (stall !== undefined) await new Promise((r) => setTimeout(r, stall));
    if (res.destroyed) return;
    if (this.down) return send(res, 503, { error: 'backend down' });
    const failure = this.failures.shift();
    if (failure !== undefined) return send(res, failure, { error: 'injected failure' });
    if (req.headers.authorization !== `Bearer ${this.secret}`) {
      return send(res, 401, { error: 'wrong or missing secret' });
    }
    if (!match) return send(res, 404, { error: 'no such route' });
    if (req.method === 'GET') {
      const snapshot = this.documents.get(doc);
      return snapshot ? send(res, 200, snapshot) : send(res, 404, { error: 'no such document' });
    }
    if (req.method === 'PUT') {
      const snapshot = JSON.parse(body) as StoredSnapshot;
      const stored = this.documents.get(doc);
      if (stored && stored.seq >= snapshot.seq) return send(res, 409, { seq: stored.seq });
      this.documents.set(doc, snapshot);
      return send(res, 204);
    }
    send(res, 405, { error: 'GET or PUT' });
  }
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (text += chunk));
    req.on('end', () => resolve(text));
    req.on('error', reject);
  });
}

function send(res: http.ServerResponse, status: number, body?: unknown): void {
  if (body === undefined) {
    res.writeHead(status).end();
    return;
  }
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}
