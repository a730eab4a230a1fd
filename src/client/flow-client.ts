import type { ClientMessage, ServerMessage, WelcomeMessage } from '../protocol/messages';
import { DEFAULT_BACKOFF, type BackoffOptions } from './backoff';
import { generateClientId, isValidClientId } from './client-id';
import { Connection, ConnectionState, fixedTokenRefused, type StateChange } from './connection';
import type { DocumentHandle } from './document-handle';
import { DocumentSession } from './document-session';
import type { DocumentLink, JoinOptions } from './document-types';
import { ClientErrorCodes, FlowError } from './errors';
import type { LateAnswers } from './late-answers';
import { TypedEmitter } from './events';
import { checkOutgoing } from './outgoing';
import { PendingRequests, type ReplyHandler } from './requests';
import type { ClientEvents, FlowClientOptions } from './client-options';
import { defaultWebSocket, UPGRADE_UNAUTHORIZED } from './transport';

const DEFAULT_PING_INTERVAL_MS = 25_000;
const DEFAULT_PONG_TIMEOUT_MS = 10_000;
const DEFAULT_MAX_FRAME_BYTES = 64 * 1024;
const DEFAULT_STALL_AFTER_MS = 15_000;

/**
 * A connection to a Flow gateway and the documents joined through it. It
 * reconnects after an unexpected close, re-joins every document with the
 * events it missed, and resends the op messages not yet acknowledged.
 */
export class FlowClient extends TypedEmitter<ClientEvents> {
  private id: string;
  private readonly connection: Connection;
  private readonly requests = new PendingRequests();
  private readonly sessions = new Map<string, DocumentSession>();
  /** Answers owed to documents left with ops in flight. */
  private readonly lateAnswers = new Set<LateAnswers>();
  /** Last cseq per document, kept across leaves and reconnects: cseq must only increase. */
  private readonly cseqs = new Map<string, number>();
  private readonly initialCseq: number;
  private readonly link: DocumentLink;
  private closing = false;

  constructor(options: FlowClientOptions) {
    super();
    const url = new URL(options.url);
    if (url.protocol !== 'ws:' && url.protocol !== 'wss:') {
      throw new TypeError(`url must be ws: or wss:, not ${url.protocol}`);
    }
    if (options.client !== undefined && !isValidClientId(options.client)) {
      throw new TypeError('client must be 1-64 characters of A-Z a-z 0-9 _ -');
    }
    this.id = options.client ?? generateClientId();
    this.initialCseq =
      options.initialCseq ?? (options.client === undefined ? 1 : Date.now() * 1000);
    if (!Number.isSafeInteger(this.initialCseq) || this.initialCseq < 1) {
      throw new TypeError('initialCseq must be a positive integer');
    }
    const retry = { ...DEFAULT_BACKOFF, ...(options.reconnect || {}) };
    this.connection = new Connection(
      {
        url,
        clientId: () => this.id,
        token: options.token,
        WebSocket: options.WebSocket ?? defaultWebSocket(),
        reconnect: options.reconnect === false ? false : retry,
        pingIntervalMs: options.pingIntervalMs ?? DEFAULT_PING_INTERVAL_MS,
        pongTimeoutMs: options.pongTimeoutMs ?? DEFAULT_PONG_TIMEOUT_MS,
        random: Math.random,
      },
      {
        state: (change) => this.stateChanged(change),
        welcome: (message) => this.welcomed(message),
        message: (message) => this.route(message),
        down: () => this.connectionLost(),
        error: (error) => this.emit('error', error),
      },
    );
    this.link = this.createLink(
      options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES,
      retry,
      options.stallAfterMs ?? DEFAULT_STALL_AFTER_MS,
    );
  }

  get state(): ConnectionState {
    return this.connection.state;
  }

  /** The id the server knows this client by. */
  get clientId(): string {
    return this.id;
  }

  /** Starts connecting; `join` does it too. Does nothing unless idle. */
  connect(): void {
    this.connection.open();
  }

  /**
   * Joins `doc` and resolves once the server sent its state. Joining a
   * document already joined (or joining) returns the same handle.
   */
  join(doc: string, options: JoinOptions = {}): Promise<DocumentHandle> {
    if (this.state === ConnectionState.Closed) {
      return Promise.reject(new FlowError(ClientErrorCodes.CLIENT_CLOSED, 'the client is closed'));
    }
    const existing = this.sessions.get(doc);
    if (existing) return existing.ready;
    try {
      checkOutgoing({ type: 'join', doc, ...options }, Number.MAX_SAFE_INTEGER);
    } catch (err) {
      return Promise.reject(err);
    }
    const session = new DocumentSession(doc, this.link, options);
    this.sessions.set(doc, session);
    if (this.state === ConnectionState.Idle) this.connect();
    else if (this.connection.generation !== 0) session.connected();
    return session.ready;
  }

  /** The handle of a joined (or joining) document. */
  document(doc: string): DocumentHandle | undefined {
    return this.sessions.get(doc)?.handle;
  }

  /** Round trip to the gateway, in milliseconds. */
  ping(timeoutMs = DEFAULT_PONG_TIMEOUT_MS): Promise<number> {
    return new Promise((resolve, reject) => {
      const started = Date.now();
      const ref = this.request(
        { type: 'ping' },
        {
          reply: () => {
            clearTimeout(timer);
            resolve(Date.now() - started);
          },
          fail: (error) => {
            clearTimeout(timer);
            reject(error);
          },
        },
      );
      if (ref === null) {
        const code = this.closing ? ClientErrorCodes.CLIENT_CLOSED : ClientErrorCodes.DISCONNECTED;
        reject(new FlowError(code, 'not connected'));
        return;
      }
      // The handlers above run on a later frame, after this is set.
      const timer = setTimeout(() => {
        this.requests.fail(
          ref,
          new FlowError(ClientErrorCodes.TIMEOUT, `no pong within ${timeoutMs} ms`),
        );
      }, timeoutMs);
    });
  }

  /**
   * Closes the connection with 1000 and stops reconnecting. Every pending
   * join, submit and ping rejects with CLIENT_CLOSED. Idempotent.
   */
  close(): void {
    if (this.closing) return;
    this.closing = true;
    this.shutdown(new FlowError(ClientErrorCodes.CLIENT_CLOSED, 'the client was closed'));
  }

  // ---- connection events -----------------------------------------------------

  private stateChanged(change: StateChange): void {
    // A close the SDK does not recover from (1008, or reconnect off) ends
    // everything waiting, as close() would.
    if (change.state === ConnectionState.Closed && !this.closing) {
      this.closing = true;
      if (change.code === UPGRADE_UNAUTHORIZED) {
        this.shutdown(new FlowError('UNAUTHORIZED', fixedTokenRefused(change.reason ?? '')));
      } else {
        const reason = `the connection closed (${change.code ?? 'no code'}) and will not reopen`;
        this.shutdown(new FlowError(ClientErrorCodes.DISCONNECTED, reason));
      }
    }
    this.emit('state', change);
  }

  private welcomed(message: WelcomeMessage): void {
    // The server's name for us is what its events carry.
    if (isValidClientId(message.client)) this.id = message.client;
    this.emit('welcome', message);
    for (const session of [...this.sessions.values()]) session.connected();
  }

  private connectionLost(): void {
    for (const answers of [...this.lateAnswers]) answers.lost();
    this.requests.failAll(new FlowError(ClientErrorCodes.DISCONNECTED, 'the connection was lost'));
    for (const session of this.sessions.values()) session.disconnected();
  }

  private route(message: ServerMessage): void {
    if ('ref' in message && message.ref !== undefined) {
      if (this.requests.settle(message.ref, message)) return;
    }
    if (message.type === 'ack' || message.type === 'error') {
      // An op of a document left meanwhile: answered to its submit, not to a new join.
      for (const answers of this.lateAnswers) if (answers.receive(message)) return;
    }
    switch (message.type) {
      case 'ack':
      case 'event':
      case 'presence':
      case 'saved':
        this.sessions.get(message.doc)?.receive(message);
        return;
      case 'joined':
        // Unprompted (no ref): the server started the document over (new
        // epoch, or history it could not replay); take it as a re-join answer.
        this.sessions.get(message.doc)?.resync(message);
        return;
      case 'error': {
        const session = message.doc === undefined ? undefined : this.sessions.get(message.doc);
        if (session?.receive(message)) return;
        const { doc, cseq } = message;
        this.emit('error', new FlowError(message.code, message.message, { doc, cseq }));
        return;
      }
      default:
        // A late reply to a request given up on (a timed-out ping, a left document).
        return;
    }
  }

  /** Runs every cleanup even when one throws; the first error is rethrown at the end. */
  private shutdown(error: FlowError): void {
    const failures: unknown[] = [];
    const attempt = (cleanup: () => void): void => {
      try {
        cleanup();
      } catch (err) {
        failures.push(err);
      }
    };
    for (const answers of [...this.lateAnswers]) attempt(() => answers.lost());
    attempt(() => this.requests.failAll(error));
    for (const session of [...this.sessions.values()]) attempt(() => session.destroy(error));
    this.sessions.clear();
    attempt(() => this.connection.close());
    if (failures.length > 0) throw failures[0];
  }

  private createLink(
    maxFrameBytes: number,
    retry: BackoffOptions,
    stallAfterMs: number,
  ): DocumentLink {
    return {
      clientId: () => this.id,
      generation: () => this.connection.generation,
      maxFrameBytes,
      retry,
      stallAfterMs,
      send: (message) => this.connection.send(message),
      request: (message, handler) => this.request(message, handler) !== null,
      nextCseq: (doc) => {
        const cseq = (this.cseqs.get(doc) ?? this.initialCseq - 1) + 1;
        this.cseqs.set(doc, cseq);
        return cseq;
      },
      observeCseq: (doc, cseq) => {
        if (cseq > (this.cseqs.get(doc) ?? 0)) this.cseqs.set(doc, cseq);
      },
      awaitAnswers: (answers) => {
        this.lateAnswers.add(answers);
        void answers.done.then(() => this.lateAnswers.delete(answers));
      },
      detach: (doc, session) => {
        if (this.sessions.get(doc) === session) this.sessions.delete(doc);
      },
    };
  }

  /** Sends `message` with a fresh ref; null, and nothing kept, when no connection is open. */
  private request(message: ClientMessage, handler: ReplyHandler): string | null {
    if (this.connection.generation === 0) return null;
    const ref = this.requests.add(handler);
    // A send that fails now is failed with the others when the socket's close arrives.
    this.connection.send({ ...message, ref });
    return ref;
  }
}
