import type { WelcomeMessage } from '../protocol/messages';
import type { BackoffOptions } from './backoff';
import type { StateChange, TokenSource } from './connection';
import type { FlowError } from './errors';
import type { WebSocketConstructor } from './transport';

export interface FlowClientOptions {
  /** The gateway's WebSocket endpoint, e.g. `ws://localhost:3001/ws`. */
  url: string;
  /**
   * A stable id (`^[A-Za-z0-9_-]{1,64}$`). Resends are idempotent only under
   * the same id. The server treats an op message whose cseq is not above the
   * id's last applied one as a resend, so with a given id the first cseq is
   * taken from the clock (see `initialCseq`).
   * @default a random id, new for each FlowClient
   */
  client?: string;
  /** A JWT, or a function read before every connection attempt (to refresh it). */
  token?: TokenSource;
  /** @default globalThis.WebSocket, else the `ws` package */
  WebSocket?: WebSocketConstructor;
  /**
   * Backoff between reconnects after an unexpected close; false to stay closed.
   * @default { minDelayMs: 500, maxDelayMs: 30000 }
   */
  reconnect?: Partial<BackoffOptions> | false;
  /**
   * Silence after which a ping probes the connection; 0 turns it off.
   * @default 25000
   */
  pingIntervalMs?: number;
  /**
   * How long a ping waits before the connection counts as dead.
   * @default 10000
   */
  pongTimeoutMs?: number;
  /**
   * The gateway's frame limit: a larger op message is refused locally.
   * @default 65536
   */
  maxFrameBytes?: number;
  /**
   * The cseq of the first op message of each document.
   * @default 1 with a generated client id; with a given id, the current time
   * in microseconds (Date.now() * 1000), so that a new FlowClient reusing the
   * id of an earlier one keeps increasing its cseqs (below 2^53 until the
   * year 2255, and unique while it sends fewer than 1000 op messages per ms).
   */
  initialCseq?: number;
  /**
   * A joined document that cannot be joined again for this long (ms) after
   * a reconnect or a gap emits `stalled` on its handle; 0 never.
   * @default 15000
   */
  stallAfterMs?: number;
}

export interface ClientEvents {
  state: StateChange;
  welcome: WelcomeMessage;
  /** Failures no promise reports: server errors without a ref or cseq, a final close. */
  error: FlowError;
}
