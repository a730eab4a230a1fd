import type { Logger } from 'pino';
import type { FlowConfig } from '../config';
import type { Metrics } from '../observability/metrics';
import { CloseCodes, PROTOCOL_VERSION } from '../protocol';
import type { CollaborationService } from '../services/collaboration/collaboration-service';
import type { EventOrderingService } from '../services/event-ordering/event-ordering-service';
import type { WebSocketManager } from '../services/websocket-manager/websocket-manager';
import type { Broadcaster, ClientSocket } from './client-socket';
import { ClientConnection } from './client-connection';
import type { ClientIdGuard } from './client-id-guard';
import type { ConnectionHost, ConnectionIdentity } from './connection-host';
import { DocumentFeed } from './document-feed';
import { encode } from './wire';
import { PresenceRelay } from './presence-relay';
import { atExpiry, TOKEN_EXPIRED_REASON } from './token-expiry';
import { PendingOpResolver } from './pending-op-resolver';
import { NewDocumentBudget } from './new-document-budget';
import { AnswerLag } from './answer-lag';
import { UnackedRefresh } from './unacked-refresh';
import type { ApplyOutcome } from '../document/op-submission';

export interface HubDeps {
  config: FlowConfig;
  collaboration: CollaborationService;
  ordering: EventOrderingService;
  websockets: WebSocketManager;
  broadcaster: Broadcaster;
  /** One connection per client id cluster-wide; one user per client id. */
  clientIds: ClientIdGuard;
  metrics: Metrics;
  log: Logger;
  /** The process role, reported in the cluster registry. */
  role: string;
  /** The largest `joined` frame the transport can send (see DocumentFeed). */
  maxJoinedBytes?: number;
}

/** A feed with no members stays subscribed this long, so quick re-joins stay cheap. */
const FEED_LINGER_MS = 2000;
/** How often the hub looks for ops left unacked and reports its figures. */
const TICK_MS = 1000;
/** A spread close (see close()) closes the connections in this many groups at most. */
const CLOSE_GROUPS = 10;
/** Every this many ticks, the presence of clients on gateways that died is cleared. */
const PRESENCE_SWEEP_TICKS = 5;

/**
 * The realtime core of one gateway: its connections and one feed per open
 * document. Knows nothing of uWebSockets.js: sockets come in as ClientSocket.
 */
export class GatewayHub implements ConnectionHost {
  readonly connections = new Set<ClientConnection>();
  private readonly feeds = new Map<string, DocumentFeed>();
  /** When a feed with ops unanswered reads the history, for a broadcast lost on the way. */
  private readonly unacked = new UnackedRefresh<DocumentFeed>();
  /** How long this gateway's ops lately waited for their answers: the history reads above wait longer while it is high. */
  private readonly answerLag = new AnswerLag();
  private readonly lingering = new Map<string, NodeJS.Timeout>();
  /** Cancels the close at each connection's token expiry. */
  private readonly expiries = new Map<ClientConnection, () => void>();
  messagesIn = 0;

  private readonly ticker: NodeJS.Timeout;
  private closing: Promise<void> | undefined;

  readonly presence: PresenceRelay;
  readonly collaboration: CollaborationService;
  readonly ordering: EventOrderingService;
  readonly metrics: Metrics;
  readonly log: Logger;
  readonly resolver: PendingOpResolver;
  readonly newDocuments: NewDocumentBudget;

  constructor(readonly deps: HubDeps) {
    this.collaboration = deps.collaboration;
    this.ordering = deps.ordering;
    this.metrics = deps.metrics;
    this.log = deps.log;
    this.presence = new PresenceRelay({ ...deps, nodeId: deps.config.nodeId });
    this.resolver = new PendingOpResolver(deps);
    this.newDocuments = new NewDocumentBudget(deps.config.limits.newDocsPerMinute);
    this.ticker = setInterval(() => this.tick(), TICK_MS);
    this.ticker.unref();
    // Appear in the cluster registry at once, not a tick later.
    setImmediate(() => this.tick());
  }

  private ticks = 0;

  private tick(): void {
    if (++this.ticks % PRESENCE_SWEEP_TICKS === 0) this.sweepPresence();
    const now = performance.now();
    const lagMs = this.answerLag.recent(now);
    for (const feed of this.feeds.values()) {
      if (this.unacked.due(feed, feed.oldestInflight(), now, lagMs)) this.refresh(feed);
    }
    this.resolver.check(this.feeds.values());
    const { documents, connections } = this.stats();
    this.deps.websockets
      .heartbeat({
        node: this.nodeId,
        role: this.deps.role,
        connections,
        documents,
        updatedAt: Date.now(),
      })
      .catch((err: unknown) => this.deps.log.debug({ err }, 'heartbeat failed'));
  }

  /** Clears the presence of clients whose gateway stopped heartbeating. */
  private sweepPresence(): void {
    if (this.feeds.size === 0) return;
    this.deps.websockets
      .clusterStats()
      .then((cluster) => {
        if (!cluster) return;
        const live = new Set(cluster.nodes.map((n) => n.node));
        live.add(this.nodeId);
        for (const feed of this.feeds.values()) feed.forgetPresenceOutside(live);
      })
      .catch((err: unknown) => this.deps.log.debug({ err }, 'presence sweep failed'));
  }

  private refresh(feed: DocumentFeed): void {
    feed
      .refresh()
      .catch((err: unknown) => this.deps.log.warn({ doc: feed.doc, err }, 'feed refresh failed'));
  }

  /**
   * Outcomes this process applied itself: its own clients are answered
   * without waiting for pub/sub, which may lose them (a Redis blip).
   */
  localOutcomes(doc: string, outcomes: ApplyOutcome[]): void {
    this.feeds.get(doc)?.onBroadcast({ kind: 'outcomes', doc, outcomes });
    this.resolver.settle(outcomes);
  }

  /** Every open document reads its history: pub/sub messages may have been lost. */
  refreshAll(): void {
    for (const feed of this.feeds.values()) this.refresh(feed);
  }

  countMessageIn(): void {
    this.messagesIn++;
  }

  get nodeId(): string {
    return this.deps.config.nodeId;
  }

  connect(socket: ClientSocket, identity: ConnectionIdentity): ClientConnection {
    const connection = new ClientConnection(this, this.deps.config.limits, socket, identity);
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
    const { claim } = identity;
    if (claim) {
      const end = (code: number, reason: string) => {
        socket.end(code, reason);
        this.disconnect(connection);
      };
      this.deps.clientIds.attach(claim, end);
    }
    const { expiresAt } = identity;
    if (typeof expiresAt === 'number' && !socket.closed) {
      const cancel = atExpiry(expiresAt, () => {
        socket.end(CloseCodes.TOKEN_EXPIRED, TOKEN_EXPIRED_REASON);
        this.disconnect(connection);
      });
      this.expiries.set(connection, cancel);
    }
    return connection;
  }

  disconnect(connection: ClientConnection): void {
    if (!this.connections.delete(connection)) return;
    this.expiries.get(connection)?.();
    this.expiries.delete(connection);
    if (connection.identity.claim) this.deps.clientIds.release(connection.identity.claim);
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
      feed = new DocumentFeed(doc, {
        ...this.deps,
        nodeId: this.nodeId,
        answerLag: this.answerLag,
      });
      this.feeds.set(doc, feed);
      this.deps.metrics.documents.set(this.feeds.size);
    }
    return feed;
  }

  /** What this gateway delivered of `doc`, sent along with ops so the apply can tell a lost history. */
  delivered(doc: string): { epoch: string; seq: number } | undefined {
    return this.feeds.get(doc)?.delivered;
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
      // A document joined and left without an edit leaves nothing behind (the
      // service keeps it when it has content or presence from elsewhere).
      if (feed.seq === 0)
        this.collaboration
          .dropIfBlank(feed.doc)
          .catch((err: unknown) =>
            this.deps.log.warn({ doc: feed.doc, err }, 'dropping a blank document failed'),
          );
    }, FEED_LINGER_MS);
    timer.unref();
    this.lingering.set(feed.doc, timer);
  }

  stats(): { connections: number; documents: number; messagesIn: number } {
    let documents = 0;
    for (const feed of this.feeds.values()) if (feed.members.size > 0) documents++;
    return { connections: this.connections.size, documents, messagesIn: this.messagesIn };
  }

  /**
   * Closes every connection with `code` and drops every feed. Idempotent: a
   * call during a close waits for that close.
   *
   * `spreadMs`: the connections are closed in up to CLOSE_GROUPS groups over
   * this time, not at once. The clients of a stopping gateway reconnect to
   * the others; all of them at once is a wave of handshakes, joins and
   * history reads that stalls the gateway taking them, and every client
   * waits for the whole wave. Connections not closed yet are served as usual.
   */
  close(code: number, reason: string, spreadMs = 0): Promise<void> {
    this.closing ??= this.closeAll(code, reason, spreadMs);
    return this.closing;
  }

  private async closeAll(code: number, reason: string, spreadMs: number): Promise<void> {
    const open = [...this.connections];
    const groups = Math.min(CLOSE_GROUPS, open.length);
    const perGroup = Math.ceil(open.length / Math.max(1, groups));
    for (let group = 0; group < groups; group++) {
      if (group > 0 && spreadMs > 0) {
        await new Promise((resolve) => setTimeout(resolve, spreadMs / groups));
      }
      for (const connection of open.slice(group * perGroup, (group + 1) * perGroup)) {
        // Gone already: its client closed it during the spread.
        if (!this.connections.has(connection)) continue;
        connection.socket.end(code, reason);
        this.disconnect(connection);
      }
    }
    clearInterval(this.ticker);
    for (const timer of this.lingering.values()) clearTimeout(timer);
    this.lingering.clear();
    const feeds = [...this.feeds.values()];
    this.feeds.clear();
    await Promise.allSettled(feeds.map((feed) => feed.close()));
  }
}
