import WebSocket from 'ws';
import type { ServerMessage } from '../../src/protocol';

type Predicate = (message: ServerMessage) => boolean;

/**
 * A raw protocol client for tests: records every message and lets a test
 * wait for the next one that matches.
 */
export class TestClient {
  readonly messages: ServerMessage[] = [];
  private cursor = 0;
  private waiters: Array<{ predicate: Predicate; resolve: (m: ServerMessage) => void }> = [];
  closeCode: number | null = null;
  closeReason = '';
  /** What the ws library reported, e.g. a frame it found invalid (it then closes with 1006). */
  errorMessage: string | null = null;
  readonly closed: Promise<number>;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const message = JSON.parse(String(data)) as ServerMessage;
      this.messages.push(message);
      this.waiters = this.waiters.filter((w) => {
        if (!w.predicate(message)) return true;
        w.resolve(message);
        return false;
      });
    });
    ws.on('error', (err) => {
      this.errorMessage ??= err.message;
    });
    this.closed = new Promise((resolve) =>
      ws.on('close', (code, reason) => {
        this.closeCode = code;
        this.closeReason = String(reason);
        resolve(code);
      }),
    );
  }

  static async connect(url: string, client?: string): Promise<TestClient> {
    const ws = new WebSocket(client ? `${url}?client=${client}` : url);
    const test = new TestClient(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    await test.next((m) => m.type === 'welcome');
    return test;
  }

  send(message: unknown): void {
    this.ws.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  /** The next message (after those already taken by `next`) that matches. */
  next(predicate: Predicate = () => true, timeoutMs = 5000): Promise<ServerMessage> {
    for (let i = this.cursor; i < this.messages.length; i++) {
      const message = this.messages[i] as ServerMessage;
      if (predicate(message)) {
        this.cursor = i + 1;
        return Promise.resolve(message);
      }
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new Error(
              `no matching message within ${timeoutMs} ms; got ${JSON.stringify(this.messages.slice(-5))}` +
                (this.closeCode === null
                  ? ''
                  : `; the connection closed with ${this.closeCode} ${this.closeReason}`) +
                (this.errorMessage === null
                  ? ''
                  : `; the client saw an error: ${this.errorMessage}`),
            ),
          ),
        timeoutMs,
      );
      this.waiters.push({
        predicate,
        resolve: (m) => {
          clearTimeout(timer);
          this.cursor = this.messages.length;
          resolve(m);
        },
      });
    });
  }

  /** Sends and waits for the direct reply carrying this ref. */
  async request(
    message: Record<string, unknown>,
    ref = Math.random().toString(36).slice(2),
  ): Promise<ServerMessage> {
    this.send({ ...message, ref });
    return this.next((m) => 'ref' in m && m.ref === ref);
  }

  of<T extends ServerMessage['type']>(type: T): Array<Extract<ServerMessage, { type: T }>> {
    return this.messages.filter((m) => m.type === type) as Array<
      Extract<ServerMessage, { type: T }>
    >;
  }

  close(): Promise<number> {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING)
      this.ws.close();
    return this.closed;
  }
}

export const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
