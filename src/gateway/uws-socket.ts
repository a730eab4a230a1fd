import type { WebSocket } from 'uWebSockets.js';
import { CloseCodes } from '../protocol';
import type { ClientSocket } from '../realtime/client-socket';
import type { ClientIdClaim } from '../services/client-ids/client-id-registry';
import type { ClientConnection } from '../realtime/client-connection';

/** What the gateway keeps on each uWS socket. */
export interface SocketData {
  client: string;
  user: string | null;
  grants: Record<string, 'read' | 'write'> | null;
  claim?: ClientIdClaim;
  expiresAt: number | null;
  adapter?: UwsClientSocket;
  connection?: ClientConnection;
}

/**
 * Adapts a uWS socket to the core's ClientSocket. uWS must never be touched
 * after close: every call checks `closed`, which the close handler sets.
 */
export class UwsClientSocket implements ClientSocket {
  closed = false;
  /** This socket's own topic: messages published to it queue behind the fan-out. */
  private readonly ownTopic: string;

  constructor(
    private readonly ws: WebSocket<SocketData>,
    private readonly maxBackpressure: number,
    private readonly onSlowConsumer: () => void,
    id: number,
    private readonly publish: (topic: string, text: string) => void,
  ) {
    this.ownTopic = `socket/${id}`;
    ws.subscribe(this.ownTopic);
  }

  /**
   * Sends through uWS's topic queue instead of writing at once: messages
   * published in one event-loop turn reach each socket in publish order and
   * in one write, where `send` outside a uWS callback costs a system call
   * per message. Acks go this way, interleaved in seq order with events.
   */
  sendQueued(text: string): void {
    if (this.closed) return;
    this.publish(this.ownTopic, text);
  }

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
