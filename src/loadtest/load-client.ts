import { Socket } from 'node:net';
import WebSocket from 'ws';
import type { ServerMessage } from '../protocol';
import { JOIN_REF, Membership, type MembershipLink } from './membership';
import type { ClientSpec } from './plan';
import type { ThreadMetrics } from './thread-metrics';
import { Counter } from './thread-protocol';

const RECONNECT_MIN_MS = 100;
const RECONNECT_MAX_MS = 2000;

/**
 * One load-test WebSocket connection and the documents it joins.
 *
 * Raw `ws` and the protocol module, not the SDK (FlowClient): the checker
 * needs every ack, event and joined exactly as they arrived, gaps and
 * duplicates included, while the SDK exists to hide them (it buffers,
 * re-joins and resolves promises); and the SDK's optimistic view, promise per
 * submit and event emitters cost CPU per message that a generator meant to
 * outrun the server cannot spare. The reconnect logic here is the SDK's
 * contract in small: re-join with since and epoch, resend unanswered op
 * messages with the same cseq.
 */
export class LoadClient {
  readonly memberships = new Map<string, Membership>();
  private ws: WebSocket | null = null;
  private urlIndex: number;
  private attempts = 0;
  private dropped = false;
  private closing = false;
  private reconnectTimer: NodeJS.Timeout | undefined;
  /** Corked until the next tick, so that the sends of one schedule tick share one write. */
  private corkedSocket: Socket | null = null;
  private readonly link: MembershipLink;

  constructor(
    readonly spec: ClientSpec,
    private readonly urls: readonly string[],
    readonly metrics: ThreadMetrics,
    opSize: number,
    private readonly corks: CorkBatch,
  ) {
    this.urlIndex = spec.urlIndex;
    this.link = {
      clientId: spec.id,
      clientIndex: spec.index,
      opSize,
      metrics,
      send: (text) => this.send(text),
    };
    for (const doc of spec.docs) this.memberships.set(doc, new Membership(doc, this.link));
  }

  connect(): void {
    if (this.closing) return;
    const url = this.urls[this.urlIndex % this.urls.length] as string;
    const ws = new WebSocket(`${url}?client=${encodeURIComponent(this.spec.id)}`, {
      perMessageDeflate: false,
      skipUTF8Validation: true,
    });
    this.ws = ws;
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (isBinary) return;
      this.onMessage(JSON.parse(data.toString('utf8')) as ServerMessage);
    });
    // 'close' follows every 'error'; the reconnect happens there.
    ws.on('error', () => undefined);
    ws.on('close', () => this.onClose(ws));
  }

  /** Closes for good (the end of the run). */
  close(): Promise<void> {
    this.closing = true;
    clearTimeout(this.reconnectTimer);
    const ws = this.ws;
    if (!ws || ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        ws.terminate();
        resolve();
      }, 2000);
      ws.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      ws.close(1000, 'load test done');
    });
  }

  private send(text: string): boolean {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return false;
    if (this.corkedSocket === null) {
      // ws has no cork API: its net.Socket is the private `_socket` (as in bench/memory-worker.ts).
      const socket = (ws as unknown as { _socket?: unknown })._socket;
      if (socket instanceof Socket) {
        socket.cork();
        this.corkedSocket = socket;
        this.corks.add(this);
      }
    }
    ws.send(text);
    return true;
  }

  uncork(): void {
    this.corkedSocket?.uncork();
    this.corkedSocket = null;
  }

  private onMessage(message: ServerMessage): void {
    switch (message.type) {
      case 'welcome':
        if (this.dropped) this.metrics.add(Counter.reconnects);
        this.dropped = false;
        this.attempts = 0;
        for (const m of this.memberships.values()) m.join();
        return;
      case 'joined':
        this.memberships.get(message.doc)?.onJoined(message);
        return;
      case 'ack':
      case 'event':
        this.memberships.get(message.doc)?.onSequenced(message);
        return;
      case 'presence':
        this.metrics.add(Counter.presenceReceived);
        return;
      case 'error':
        this.metrics.error(message.code);
        if (message.doc === undefined) return;
        if (message.cseq !== undefined)
          this.memberships.get(message.doc)?.onError(message.cseq, message.code);
        else if (message.ref === JOIN_REF) this.memberships.get(message.doc)?.onJoinRefused();
        return;
      case 'pong':
      case 'left':
        return;
    }
  }

  private onClose(ws: WebSocket): void {
    if (ws !== this.ws) return;
    this.ws = null;
    for (const m of this.memberships.values()) m.disconnected();
    if (this.closing) return;
    if (!this.dropped) {
      this.dropped = true;
      this.metrics.add(Counter.disconnects);
    }
    // The first retry goes to the same gateway; later ones try the next URL.
    if (this.attempts > 0) this.urlIndex++;
    const delay = Math.min(RECONNECT_MAX_MS, RECONNECT_MIN_MS * 2 ** this.attempts++);
    this.reconnectTimer = setTimeout(() => this.connect(), delay * (0.5 + Math.random() / 2));
  }
}

/** The clients whose sockets are corked; uncorked together on the next tick. */
export class CorkBatch {
  private readonly clients: LoadClient[] = [];

  add(client: LoadClient): void {
    if (this.clients.push(client) === 1) process.nextTick(() => this.flush());
  }

  flush(): void {
    for (const client of this.clients) client.uncork();
    this.clients.length = 0;
  }
}
