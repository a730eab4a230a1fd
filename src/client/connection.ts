import { CloseCodes } from '../protocol/errors';
import type { ClientMessage, ServerMessage, WelcomeMessage } from '../protocol/messages';
import { PROTOCOL_VERSION } from '../protocol/messages';
import { Backoff, type BackoffOptions } from './backoff';
import { ClientErrorCodes, FlowError } from './errors';
import { ExpiredTokenError, nextToken } from './token-expiry';
import {
  openTransport,
  UPGRADE_UNAUTHORIZED,
  type Transport,
  type WebSocketConstructor,
} from './transport';

export const ConnectionState = {
  /** Created, `connect()` (or the first `join()`) not called yet. */
  Idle: 'idle',
  /** The first connection attempt is under way. */
  Connecting: 'connecting',
  /** Welcomed by the server; requests flow. */
  Open: 'open',
  /** The connection was lost; waiting for the backoff or trying again. */
  Reconnecting: 'reconnecting',
  /** Final: `close()` was called, or the server ended the connection for good. */
  Closed: 'closed',
} as const;

export type ConnectionState = (typeof ConnectionState)[keyof typeof ConnectionState];

export interface StateChange {
  state: ConnectionState;
  previous: ConnectionState;
  /** The WebSocket close code that caused the change, when one did. */
  code?: number;
  reason?: string;
}

export type TokenSource = string | (() => string | Promise<string>);

export interface ConnectionOptions {
  url: URL;
  /** Read at every attempt: the server's welcome may have named the client. */
  clientId: () => string;
  token: TokenSource | undefined;
  WebSocket: WebSocketConstructor;
  reconnect: BackoffOptions | false;
  /** Silence after which a ping probes the connection; 0 turns the keepalive off. */
  pingIntervalMs: number;
  /** How long a probe waits for any frame before the connection counts as dead. */
  pongTimeoutMs: number;
  random: () => number;
}

export interface ConnectionHandlers {
  state(change: StateChange): void;
  /** A connection is usable; `generation` tells it apart from earlier ones. */
  welcome(message: WelcomeMessage, generation: number): void;
  message(message: ServerMessage): void;
  /** The connection of `generation` is gone; replies to its requests will never come. */
  down(generation: number): void;
  error(error: FlowError): void;
}

/** Why a client with a fixed token string stops (4401: refused at upgrade, or expired). */
export function fixedTokenRefused(reason: string): string {
  return `${reason || 'the server refused the token'}; the token is a fixed string, which cannot be refreshed, so the client stops: pass a token function that fetches a fresh one`;
}

/** The first reconnect after a 1001 comes within this many ms. */
const GOING_AWAY_RETRY_MS = 100;

/** A close code after which reconnecting would only be refused again. */
function isFinal(code: number): boolean {
  return code === CloseCodes.POLICY_VIOLATION;
}

/**
 * One logical connection to the gateway across any number of sockets: the
 * state machine, the welcome handshake, the keepalive and the reconnects.
 */
export class Connection {
  private current: ConnectionState = ConnectionState.Idle;
  private transport: Transport | null = null;
  /** Increases with every socket, so that late callbacks of an old one are recognised. */
  private socketGeneration = 0;
  private welcomed = false;
  private readonly backoff: Backoff | null;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private keepaliveTimer: ReturnType<typeof setTimeout> | undefined;
  private lastFrameAt = 0;

  constructor(
    private readonly options: ConnectionOptions,
    private readonly handlers: ConnectionHandlers,
  ) {
    this.backoff = options.reconnect ? new Backoff(options.reconnect, options.random) : null;
  }

  get state(): ConnectionState {
    return this.current;
  }

  /** The generation of the welcomed socket, or 0 when none is open. */
  get generation(): number {
    return this.current === ConnectionState.Open ? this.socketGeneration : 0;
  }

  open(): void {
    if (this.current !== ConnectionState.Idle) return;
    this.setState(ConnectionState.Connecting);
    void this.attempt();
  }

  /** Sends one message; false when no welcomed socket can take it. */
  send(message: ClientMessage): boolean {
    if (this.current !== ConnectionState.Open || !this.transport) return false;
    return this.transport.send(JSON.stringify(message));
  }

  close(): void {
    if (this.current === ConnectionState.Closed) return;
    clearTimeout(this.retryTimer);
    this.stopKeepalive();
    // The owner cleans up its requests itself: no `down` for a close it asked for.
    this.welcomed = false;
    this.transport?.close(CloseCodes.NORMAL, 'client closed');
    this.transport = null;
    this.setState(ConnectionState.Closed, CloseCodes.NORMAL, 'client closed');
  }

  private async attempt(): Promise<void> {
    const generation = ++this.socketGeneration;
    let url: string;
    try {
      url = await this.buildUrl();
    } catch (err) {
      if (generation !== this.socketGeneration || this.current === ConnectionState.Closed) return;
      if (err instanceof ExpiredTokenError) {
        this.handlers.error(new FlowError('UNAUTHORIZED', err.message));
        this.setState(ConnectionState.Closed, CloseCodes.TOKEN_EXPIRED, 'token expired');
        return;
      }
      const message = err instanceof Error ? err.message : String(err);
      this.handlers.error(new FlowError('UNAUTHORIZED', `the token source failed: ${message}`));
      this.lost(4001, 'no token');
      return;
    }
    // close() may have run while the token was being fetched.
    if (generation !== this.socketGeneration || this.current === ConnectionState.Closed) return;
    this.welcomed = false;
    this.transport = openTransport(url, this.options.WebSocket, {
      open: () => this.startKeepalive(),
      message: (text) => this.receive(text),
      close: (code, reason) => {
        if (generation !== this.socketGeneration) return;
        this.transport = null;
        this.lost(code, reason);
      },
    });
  }

  private async buildUrl(): Promise<string> {
    const url = new URL(this.options.url.href);
    url.searchParams.set('client', this.options.clientId());
    const token = await nextToken(this.options.token, Date.now);
    if (token !== undefined && token !== '') url.searchParams.set('token', token);
    return url.href;
  }

  private receive(text: string): void {
    this.lastFrameAt = Date.now();
    let message: ServerMessage;
    try {
      message = JSON.parse(text) as ServerMessage;
    } catch {
      this.handlers.error(new FlowError('INTERNAL', 'the server sent a frame that is not JSON'));
      return;
    }
    if (typeof message !== 'object' || message === null || typeof message.type !== 'string') {
      this.handlers.error(new FlowError('INTERNAL', 'the server sent a message without a type'));
      return;
    }
    if (message.type !== 'welcome') {
      // Before the welcome nothing was requested, so nothing can be answered.
      if (this.welcomed) this.handlers.message(message);
      return;
    }
    if (message.protocol !== PROTOCOL_VERSION) {
      this.handlers.error(
        new FlowError(
          ClientErrorCodes.DISCONNECTED,
          `the server speaks protocol ${String(message.protocol)}; this SDK speaks ${PROTOCOL_VERSION}`,
        ),
      );
      this.close();
      return;
    }
    this.welcomed = true;
    this.backoff?.reset();
    this.setState(ConnectionState.Open);
    this.handlers.welcome(message, this.socketGeneration);
  }

  /** The socket of the current generation is gone without `close()`. */
  private lost(code: number, reason: string): void {
    this.stopKeepalive();
    if (this.welcomed) this.handlers.down(this.socketGeneration);
    this.welcomed = false;
    if (code === UPGRADE_UNAUTHORIZED) {
      // A token function may fetch a fresh token for the next attempt; a fixed one would fail again.
      if (typeof this.options.token !== 'function') {
        this.handlers.error(new FlowError('UNAUTHORIZED', fixedTokenRefused(reason)));
        this.setState(ConnectionState.Closed, code, reason);
        return;
      }
      this.handlers.error(
        new FlowError('UNAUTHORIZED', `${reason}; asking the token function for a fresh token`),
      );
    }
    if (code === CloseCodes.CLIENT_ID_TAKEN_OVER) {
      this.handlers.error(
        new FlowError(
          ClientErrorCodes.CLIENT_ID_IN_USE,
          `the client id is in use (${reason}); not reconnecting: give each client its own id`,
        ),
      );
      this.setState(ConnectionState.Closed, code, reason);
      return;
    }
    if (isFinal(code)) {
      this.handlers.error(
        new FlowError(
          ClientErrorCodes.DISCONNECTED,
          `the server ended the connection (${code}${reason ? `: ${reason}` : ''}); not reconnecting`,
        ),
      );
      this.setState(ConnectionState.Closed, code, reason);
      return;
    }
    if (!this.backoff) {
      this.setState(ConnectionState.Closed, code, reason);
      return;
    }
    this.setState(ConnectionState.Reconnecting, code, reason);
    clearTimeout(this.retryTimer);
    const delay = this.backoff.next();
    // A stopping gateway spreads its 1001 closes over time itself: the first
    // attempt needs only a short jitter of its own, not the backoff's.
    const first = code === CloseCodes.GOING_AWAY && this.backoff.attempts === 1;
    const wait = first ? Math.floor(this.options.random() * GOING_AWAY_RETRY_MS) : delay;
    this.retryTimer = setTimeout(() => void this.attempt(), wait);
  }

  private startKeepalive(): void {
    this.lastFrameAt = Date.now();
    const interval = this.options.pingIntervalMs;
    if (interval <= 0) return;
    const check = (): void => {
      const silentFor = Date.now() - this.lastFrameAt;
      if (silentFor < interval) {
        this.keepaliveTimer = unref(setTimeout(check, interval - silentFor));
        return;
      }
      const probedAt = Date.now();
      this.transport?.send(JSON.stringify({ type: 'ping' } satisfies ClientMessage));
      this.keepaliveTimer = unref(
        setTimeout(() => {
          // Any frame proves the peer alive, not only the pong.
          if (this.lastFrameAt >= probedAt) return check();
          this.transport?.terminate();
          this.transport = null;
          this.lost(4000, 'keepalive timeout');
        }, this.options.pongTimeoutMs),
      );
    };
    this.keepaliveTimer = unref(setTimeout(check, interval));
  }

  private stopKeepalive(): void {
    clearTimeout(this.keepaliveTimer);
    this.keepaliveTimer = undefined;
  }

  private setState(state: ConnectionState, code?: number, reason?: string): void {
    const previous = this.current;
    if (previous === state) return;
    this.current = state;
    const change: StateChange = { state, previous };
    if (code !== undefined) change.code = code;
    if (reason !== undefined) change.reason = reason;
    this.handlers.state(change);
  }
}

/** Keepalive timers alone must not keep a Node process running; browsers have no unref. */
function unref<T>(timer: T): T {
  (timer as { unref?: () => void }).unref?.();
  return timer;
}
