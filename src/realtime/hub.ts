import type { Logger } from 'pino';
import type { FlowConfig } from '../config';
import type { Metrics } from '../observability/metrics';
import { PROTOCOL_VERSION } from '../protocol';
import type { CollaborationService } from '../services/collaboration/collaboration-service';
import type { EventOrderingService } from '../services/event-ordering/event-ordering-service';
import type { WebSocketManager } from '../services/websocket-manager/websocket-manager';
import type { Broadcaster, ClientSocket } from './client-socket';
import { ClientConnection, type ConnectionIdentity } from './client-connection';
import { DocumentFeed, encode } from './document-feed';

export interface HubDeps {
  config: FlowConfig;
  collaboration: CollaborationService;
  ordering: EventOrderingService;
  websockets: WebSocketManager;
  broadcaster: Broadcaster;
  metrics: Metrics;
  log: Logger;
}

/** A feed with no members stays subscribed this long, so quick re-joins stay cheap. */
const FEED_LINGER_MS = 2000;

/**
 * The realtime core of one gateway: its connections and one feed per open
 * document. Knows nothing of uWebSockets.js: sockets come in as ClientSocket.
 */
export class GatewayHub {
  readonly connections = new Set<ClientConnection>();
  private readonly feeds = new Map<string, DocumentFeed>();
  private readonly lingering = new Map<string, NodeJS.Timeout>();
  messagesIn = 0;

  constructor(readonly deps: HubDeps) {}

  get nodeId(): string {
    return this.deps.config.nodeId;
  }

  connect(socket: ClientSocket, identity: ConnectionIdentity): ClientConnection {
    const connection = new ClientConnection(this, socket, identity);
    this.connections.add(connection);
    this.deps.metrics.connections.set(this.connections.size);
    socket.send(
      encode({
        type: 'welcome',
        protocol: PROTOCOL_VERSION,
        client: identity.client,
        node: this.nodeId,
      }),
    );
    return connection;
  }

  disconnect(connection: ClientConnection): void {
    if (!this.connections.delete(connection)) return;
    connection.closed();
    this.deps.metrics.connections.set(this.connections.size);
  }

  feed(doc: string): DocumentFeed {
    const timer = this.lingering.get(doc);
    if (timer) {
      clearTimeout(timer);
      this.lingering.delete(doc);
    }
    let feed = this.feeds.get(doc);
    if (!feed) {
      feed = new DocumentFeed(doc, { ...this.deps, nodeId: this.nodeId });
      this.feeds.set(doc, feed);
      this.deps.metrics.documents.set(this.feeds.size);
    }
    return feed;
  }

  /** Called when a member left: the feed lingers, then unsubscribes if still empty. */
  release(feed: DocumentFeed): void {
    if (feed.members.size > 0 || this.lingering.has(feed.doc)) return;
    const timer = setTimeout(() => {
      this.lingering.delete(feed.doc);
      if (feed.members.size > 0 || this.feeds.get(feed.doc) !== feed) return;
      this.feeds.delete(feed.doc);
      this.deps.metrics.documents.set(this.feeds.size);
      feed
        .close()
        .catch((err: unknown) => this.deps.log.warn({ doc: feed.doc, err }, 'unsubscribe failed'));
    }, FEED_LINGER_MS);
    timer.unref();
    this.lingering.set(feed.doc, timer);
  }

  stats(): { connections: number; documents: number; messagesIn: number } {
    let documents = 0;
    for (const feed of this.feeds.values()) if (feed.members.size > 0) documents++;
    return { connections: this.connections.size, documents, messagesIn: this.messagesIn };
  }

  /** Closes every connection with `code` and drops every feed. Idempotent. */
  async close(code: number, reason: string): Promise<void> {
    for (const connection of [...this.connections]) {
      connection.socket.end(code, reason);
      this.disconnect(connection);
    }
    for (const timer of this.lingering.values()) clearTimeout(timer);
    this.lingering.clear();
    const feeds = [...this.feeds.values()];
    this.feeds.clear();
    await Promise.allSettled(feeds.map((feed) => feed.close()));
  }
}
