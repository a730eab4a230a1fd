import type { WebSocket } from 'uWebSockets.js';
import { CloseCodes } from '../protocol';
import type { ClientSocket } from '../realtime/client-socket';
import type { ClientConnection } from '../realtime/client-connection';

/** What the gateway keeps on each uWS socket. */
export interface SocketData {
  client: string;
  user: string | null;
  grants: Record<string, 'read' | 'write'> | null;
  adapter?: UwsClientSocket;
  connection?: ClientConnection;
}

/**
 * Adapts a uWS socket to the core's ClientSocket. uWS must never be touched
 * after close: every call checks `closed`, which the close handler sets.
 */
export class UwsClientSocket implements ClientSocket {
  closed = false;

  constructor(
    private readonly ws: WebSocket<SocketData>,
    private readonly maxBackpressure: number,
    private readonly onSlowConsumer: () => void,
  ) {}

  send(text: string): void {
    if (this.closed) return;
    this.ws.send(text, false);
    this.checkBackpressure();
  }

  /** A client that stops reading is closed before its buffer grows without bound. */
  checkBackpressure(): void {
    if (!this.closed && this.ws.getBufferedAmount() > this.maxBackpressure) {
      this.onSlowConsumer();
      this.end(
        CloseCodes.TRY_AGAIN_LATER,
        'send buffer full: you are not reading fast enough; reconnect and resume',
      );
    }
  }

  subscribe(topic: string): void {
    if (!this.closed) this.ws.subscribe(topic);
  }

  unsubscribe(topic: string): void {
    if (!this.closed) this.ws.unsubscribe(topic);
  }

  publishToOthers(topic: string, text: string): void {
    if (!this.closed) this.ws.publish(topic, text, false);
  }

  end(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.ws.end(code, reason);
  }
}
