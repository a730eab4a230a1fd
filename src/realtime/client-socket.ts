/**
 * What the realtime core sees of a WebSocket. The gateway adapts
 * uWebSockets.js to it; tests can adapt anything else.
 */
export interface ClientSocket {
  /** Sends one text frame; a no-op once closed. Closes with 1013 past the backpressure limit. */
  send(text: string): void;
  /**
   * Sends one text frame after the fan-out already queued in this turn,
   * batched with it (cheaper than `send` for acks); order among queued
   * messages, and between them and the fan-out, is kept.
   */
  sendQueued(text: string): void;
  /** Joins a fan-out topic: every `broadcast` to it reaches this socket. */
  subscribe(topic: string): void;
  unsubscribe(topic: string): void;
  /** Sends to every subscriber of `topic` but this socket. */
  publishToOthers(topic: string, text: string): void;
  /** Closes with a WebSocket close code; a no-op once closed. */
  end(code: number, reason: string): void;
  /** Closes with 1013 when more than the limit is waiting to be sent to this client. */
  checkBackpressure(): void;
  readonly closed: boolean;
}

/** Sends one text frame to every socket subscribed to a topic. */
export interface Broadcaster {
  broadcast(topic: string, text: string): void;
}

/** The fan-out topic of a document; one per document per gateway. */
export function documentTopic(doc: string): string {
  return `doc/${doc}`;
}
