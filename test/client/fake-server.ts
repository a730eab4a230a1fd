import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import type {
  ClientMessage,
  DocState,
  EventRecord,
  JoinMessage,
  PresenceEntry,
  ServerMessage,
} from '../../src/protocol/messages';

/**
 * A scriptable stand-in for the gateway: a `ws` server on port 0 that speaks
 * PROTOCOL.md only as far as each test tells it to. It welcomes and answers
 * pings by itself; everything else the test sends.
 */
export class FakeServer {
  readonly connections: FakeConnection[] = [];
  private readonly wss: WebSocketServer;
  private taken = 0;
  private waiters: Array<() => void> = [];

  private constructor(
    wss: WebSocketServer,
    private readonly options: { welcome: boolean; node: string },
  ) {
    this.wss = wss;
    wss.on('connection', (socket, request) => {
      const connection = new FakeConnection(socket, request);
      this.connections.push(connection);
      if (this.options.welcome) connection.welcome(this.options.node);
      for (const wake of this.waiters.splice(0)) wake();
    });
  }

  static async start(options: { welcome?: boolean; node?: string } = {}): Promise<FakeServer> {
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await new Promise<void>((resolve) => wss.once('listening', resolve));
    return new FakeServer(wss, {
      welcome: options.welcome ?? true,
      node: options.node ?? 'fake-1',
    });
  }

  get url(): string {
    return `ws://127.0.0.1:${(this.wss.address() as AddressInfo).port}/ws`;
  }

  /** The next connection not handed to the test yet. */
  async nextConnection(timeoutMs = 2_000): Promise<FakeConnection> {
    const deadline = Date.now() + timeoutMs;
    while (this.connections.length <= this.taken) {
      if (Date.now() >= deadline) throw new Error('no new connection in time');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, deadline - Date.now());
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.connections[this.taken++] as FakeConnection;
  }

  async close(): Promise<void> {
    for (const connection of this.connections) connection.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }
}

export class FakeConnection {
  readonly query: URLSearchParams;
  /** Every message received, in order, pings included. */
  readonly received: ClientMessage[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  private unread: ClientMessage[] = [];
  private wake: (() => void) | null = null;

  constructor(
    private readonly socket: WebSocket,
    request: IncomingMessage,
  ) {
    this.query = new URL(request.url ?? '/', 'ws://fake').searchParams;
    this.closed = new Promise((resolve) => {
      socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() }));
    });
    socket.on('message', (data, isBinary) => {
      if (isBinary) return;
      const message = JSON.parse(String(data)) as ClientMessage;
      this.received.push(message);
      if (message.type === 'ping') {
        this.send({ type: 'pong', ...(message.ref === undefined ? {} : { ref: message.ref }) });
        return;
      }
      this.unread.push(message);
      this.wake?.();
    });
  }

  get clientId(): string | null {
    return this.query.get('client');
  }

  get open(): boolean {
    return this.socket.readyState === WebSocket.OPEN;
  }

  welcome(node = 'fake-1', client = this.clientId ?? 'assigned-1'): void {
    this.send({ type: 'welcome', protocol: 1, client, node });
  }

  /** The next unread message (pings are answered, not queued), of `type` when given. */
  async next<T extends ClientMessage['type']>(
    type?: T,
    timeoutMs = 2_000,
  ): Promise<Extract<ClientMessage, { type: T }>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const index = this.unread.findIndex((m) => type === undefined || m.type === type);
      if (index >= 0) {
        const [message] = this.unread.splice(index, 1);
        return message as Extract<ClientMessage, { type: T }>;
      }
      if (Date.now() >= deadline) {
        throw new Error(`no ${type ?? 'message'} in time; unread: ${JSON.stringify(this.unread)}`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, deadline - Date.now());
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  /** Unread messages, without waiting. */
  peek(): readonly ClientMessage[] {
    return this.unread;
  }

  send(message: ServerMessage | Record<string, unknown>): void {
    this.socket.send(JSON.stringify(message));
  }

  /** Answers a join with a snapshot. */
  joinedSnapshot(
    join: JoinMessage,
    fields: { epoch: string; seq: number; state: DocState; presence?: PresenceEntry[] },
  ): void {
    this.send({ type: 'joined', doc: join.doc, ref: join.ref, presence: [], ...fields });
  }

  /** Answers a join with the events after its `since`. */
  joinedEvents(
    join: JoinMessage,
    fields: { epoch: string; seq: number; events: EventRecord[]; presence?: PresenceEntry[] },
  ): void {
    this.send({ type: 'joined', doc: join.doc, ref: join.ref, presence: [], ...fields });
  }

  close(code: number, reason = ''): void {
    this.socket.close(code, reason);
  }

  terminate(): void {
    this.socket.terminate();
  }
}
