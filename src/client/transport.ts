/**
 * The only file that touches a WebSocket implementation: the browser's, the
 * one of Node 22+, or the `ws` package. The rest of the SDK sees `Transport`.
 */

/**
 * A handler slot that accepts the browser's and `ws`'s own handler types: a
 * method signature is checked bivariantly, so their richer event types fit.
 */
type Handler<E> = { handle(event: E): void }['handle'];

/** The members of the WHATWG WebSocket that the SDK uses; `ws` provides them too. */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: Handler<unknown> | null;
  onmessage: Handler<{ data: unknown }> | null;
  onclose: Handler<{ code: number; reason: string }> | null;
  onerror: Handler<unknown> | null;
}

export type WebSocketConstructor = new (url: string) => WebSocketLike;

export interface TransportHandlers {
  open(): void;
  /** One text frame. Binary frames are not part of the protocol and never reach here. */
  message(text: string): void;
  /** The socket is gone, whoever closed it. Called at most once, never after `abort()`. */
  close(code: number, reason: string): void;
}

export interface Transport {
  /** False when the socket is not open: the frame was not sent. */
  send(text: string): boolean;
  /**
   * Sends a close frame and detaches: no handler runs afterwards, so the
   * caller moves on at once instead of waiting for the closing handshake.
   */
  close(code: number, reason: string): void;
  /** Detaches and drops the socket without a handshake, for a peer that stopped answering. */
  terminate(): void;
}

const OPEN = 1;
const ABNORMAL_CLOSURE = 1006;
/**
 * Reported as the close code when the server refused the upgrade with HTTP
 * 401 (a bad or expired token). Only `ws` lets us see the status; a browser
 * reports 1006.
 */
export const UPGRADE_UNAUTHORIZED = 4401;
/** Reported as the close code when the server refused the upgrade with HTTP 409 (`ws` only). */
export const UPGRADE_CLIENT_ID_OWNED = 4409;

/** globalThis.WebSocket when the platform has one, else the `ws` package, loaded on first use. */
export function defaultWebSocket(): WebSocketConstructor {
  const native = (globalThis as { WebSocket?: unknown }).WebSocket;
  if (typeof native === 'function') return native as WebSocketConstructor;
  // Lazy so that browser bundles never evaluate it; `ws` maps itself to a stub there.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const ws = require('ws') as typeof import('ws');
  return ws.WebSocket;
}

export function openTransport(
  url: string,
  WebSocketImpl: WebSocketConstructor,
  handlers: TransportHandlers,
): Transport {
  let socket: WebSocketLike;
  let done = false;
  const finish = (code: number, reason: string): void => {
    if (done) return;
    done = true;
    handlers.close(code, reason);
  };
  try {
    socket = new WebSocketImpl(url);
  } catch (err) {
    // A constructor that throws (bad URL, blocked port) is reported like a failed attempt.
    const reason = err instanceof Error ? err.message : String(err);
    queueMicrotask(() => finish(ABNORMAL_CLOSURE, reason));
    const closed = () => void (done = true);
    return { send: () => false, close: closed, terminate: closed };
  }
  socket.onopen = () => {
    if (!done) handlers.open();
  };
  socket.onmessage = (event) => {
    if (!done && typeof event.data === 'string') handlers.message(event.data);
  };
  let refusedWith: number | undefined;
  socket.onclose = (event) => {
    if (refusedWith === 401)
      finish(UPGRADE_UNAUTHORIZED, 'the server refused the token (HTTP 401)');
    else if (refusedWith === 409)
      finish(UPGRADE_CLIENT_ID_OWNED, 'the client id belongs to another user (HTTP 409)');
    else finish(event.code, event.reason);
  };
  // An error event is always followed by a close event, which carries what we act on.
  socket.onerror = (event) => {
    const message = (event as { message?: unknown } | null)?.message;
    const status =
      typeof message === 'string' ? /Unexpected server response: (\d+)/.exec(message) : null;
    if (status) refusedWith = Number(status[1]);
  };

  /** Returns false when already detached. */
  const detach = (): boolean => {
    if (done) return false;
    done = true;
    socket.onopen = null;
    socket.onmessage = null;
    socket.onclose = null;
    // `ws` emits 'error' when closed while connecting, and throws when nobody listens.
    socket.onerror = () => {};
    return true;
  };

  return {
    send(text) {
      if (done || socket.readyState !== OPEN) return false;
      socket.send(text);
      return true;
    },
    close(code, reason) {
      if (!detach()) return;
      try {
        socket.close(code, reason);
      } catch {
        // Closing an already failed socket may throw in some browsers; it is gone either way.
      }
    },
    terminate() {
      if (!detach()) return;
      const terminate = (socket as { terminate?: () => void }).terminate;
      // Only `ws` can drop a socket without the handshake; a browser's close() is the best there is.
      if (typeof terminate === 'function') terminate.call(socket);
      else socket.close(4000, 'keepalive timeout');
    },
  };
}
