import type { Cluster, Redis } from 'ioredis';
import type { Logger } from 'pino';
import { UnavailableError } from '../../protocol';
import { asServiceError, readyWithin } from '../../redis';
import type {
  BroadcastListener,
  ClusterStats,
  NodeStats,
  WebSocketManager,
} from './websocket-manager';
import type { DocumentBroadcast } from '../../protocol/cluster-messages';

/** A join waits this long for a (re)connecting subscriber before answering UNAVAILABLE. */
const SUBSCRIBE_READY_WAIT_MS = 2000;

export interface RedisWebSocketManagerOptions {
  /** Commands and publishes. */
  client: Redis | Cluster;
  /** Subscriptions only (a connection in subscriber mode can do nothing else). */
  subscriber: Redis | Cluster;
  /** Sharded pub/sub (SPUBLISH/SSUBSCRIBE) on a cluster; plain on a single Redis. */
  sharded: boolean;
  channelOf: (doc: string) => string;
  /** Hash of node id -> NodeStats JSON, refreshed by each node's heartbeat. */
  registryKey: string;
  /** A node missing this many heartbeat intervals is left out (and pruned). */
  staleAfterMs: number;
  log: Logger;
  /** Called after the subscriber reconnected: messages may have been missed meanwhile. */
  onResubscribed?: () => void;
}

/**
 * Fan-out between gateways over Redis pub/sub: one channel per document, one
 * subscription per document per process while it has members here. Pub/sub
 * is at most once; every message that matters carries a seq, and a gateway
 * that sees a gap reads the history.
 */
export class RedisWebSocketManager implements WebSocketManager {
  readonly mode = 'redis' as const;
  private readonly listeners = new Map<string, BroadcastListener>();
  /** Subscribe/unsubscribe of one channel are applied in call order. */
  private readonly chains = new Map<string, Promise<void>>();
  private wasReady = false;

  constructor(private readonly options: RedisWebSocketManagerOptions) {
    const { subscriber, sharded, log } = options;
    const deliver = (channel: string, payload: string) => {
      const listener = this.listeners.get(channel);
      if (!listener) return;
      let message: DocumentBroadcast;
      try {
        message = JSON.parse(payload) as DocumentBroadcast;
      } catch {
        log.warn({ channel }, 'ignored a malformed broadcast');
        return;
      }
      listener(message);
    };
    subscriber.on(sharded ? 'smessage' : 'message', deliver);
    subscriber.on('ready', () => {
      if (this.wasReady) {
        log.info(
          { channels: this.listeners.size },
          'pub/sub reconnected; catching up open documents from their history',
        );
        options.onResubscribed?.();
      }
      this.wasReady = true;
    });
  }

  async publish(message: DocumentBroadcast): Promise<void> {
    const { client, sharded, channelOf } = this.options;
    const channel = channelOf(message.doc);
    const payload = JSON.stringify(message);
    try {
      await (sharded ? client.spublish(channel, payload) : client.publish(channel, payload));
    } catch (err) {
      throw asServiceError(err);
    }
  }

  subscribe(doc: string, listener: BroadcastListener): Promise<void> {
    const channel = this.options.channelOf(doc);
    this.listeners.set(channel, listener);
    return this.chain(channel, async () => {
      const { subscriber, sharded } = this.options;
      if (!this.listeners.has(channel)) return;
      // A subscriber waits for Redis forever; a join must not. The listener
      // stays registered, and the next join of the document subscribes again.
      if (
        subscriber.status !== 'ready' &&
        !(await readyWithin(subscriber, SUBSCRIBE_READY_WAIT_MS))
      ) {
        throw new UnavailableError(
          'Redis pub/sub is not connected; nothing changed; retry the join',
        );
      }
      try {
        await (sharded ? subscriber.ssubscribe(channel) : subscriber.subscribe(channel));
      } catch (err) {
        throw asServiceError(err);
      }
    });
  }

  unsubscribe(doc: string): Promise<void> {
    const channel = this.options.channelOf(doc);
    this.listeners.delete(channel);
    return this.chain(channel, async () => {
      const { subscriber, sharded } = this.options;
      // While disconnected the command would wait for Redis forever; the
      // listener is gone already, so a message that still arrives is dropped.
      if (this.listeners.has(channel) || subscriber.status !== 'ready') return;
      await (sharded ? subscriber.sunsubscribe(channel) : subscriber.unsubscribe(channel));
    });
  }

  private chain(channel: string, step: () => Promise<void>): Promise<void> {
    const previous = this.chains.get(channel) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(step);
    this.chains.set(channel, next);
    void next
      .finally(() => {
        if (this.chains.get(channel) === next) this.chains.delete(channel);
      })
      .catch(() => undefined);
    return next;
  }

  async heartbeat(stats: NodeStats): Promise<void> {
    await this.options.client.hset(this.options.registryKey, stats.node, JSON.stringify(stats));
  }

  async clusterStats(): Promise<ClusterStats | null> {
    const { client, registryKey, staleAfterMs } = this.options;
    const entries = await client.hgetall(registryKey);
    const now = Date.now();
    const nodes: NodeStats[] = [];
    const stale: string[] = [];
    for (const [node, json] of Object.entries(entries)) {
      try {
        const stats = JSON.parse(json) as NodeStats;
        if (now - stats.updatedAt > staleAfterMs) stale.push(node);
        else nodes.push(stats);
      } catch {
        stale.push(node);
      }
    }
    if (stale.length > 0) await client.hdel(registryKey, ...stale);
    nodes.sort((a, b) => a.node.localeCompare(b.node));
    return { nodes, connections: nodes.reduce((sum, n) => sum + n.connections, 0) };
  }

  async close(): Promise<void> {
    this.listeners.clear();
  }
}
