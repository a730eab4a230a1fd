import type { PresenceRecord } from '../../document/catch-up';
import type { RedisClient } from '../../redis/connection';

/** Nodes silent for a day are long gone; the heartbeat set drops them. */
const FORGET_AFTER_MS = 86_400_000;

export interface PresenceNodesOptions {
  redis: RedisClient;
  /** The sorted set of heartbeats: node -> its last beat (ms). */
  key: string;
  /** A node without a heartbeat for this long is dead. */
  timeoutMs: number;
  now: () => number;
  /** A heartbeat failed; the next one tries again. */
  beatFailed: (err: unknown) => void;
}

/**
 * Presence liveness: each presence record names its node (gateway); the
 * nodes this process has written presence for heartbeat into one sorted set
 * every third of the timeout, and readers drop (and delete) the records of
 * nodes whose heartbeat is older than the timeout, so that the clients of a
 * crashed gateway vanish without anyone clearing them. Apart from the
 * service because it is about processes, not documents.
 */
export class PresenceNodes {
  private readonly local = new Set<string>();
  private heartbeat: NodeJS.Timeout | undefined;

  constructor(private readonly options: PresenceNodesOptions) {}

  /** Before `node` writes its first record: heartbeat first, so that no reader sees the record of an unknown node. */
  async register(node: string): Promise<void> {
    if (this.local.has(node)) return;
    await this.options.redis.zadd(this.options.key, this.options.now(), node);
    this.local.add(node);
    this.startHeartbeat();
  }

  /** The records of live nodes; those of dead ones are pruned from `presenceKey`. */
  async live(presenceKey: string, records: PresenceRecord[]): Promise<PresenceRecord[]> {
    const { redis, key } = this.options;
    const nodes = [...new Set(records.map((r) => r.node))].filter((n) => !this.local.has(n));
    if (nodes.length === 0) return records;
    const beats = await redis.zmscore(key, ...nodes);
    const cutoff = this.options.now() - this.options.timeoutMs;
    const dead = new Set(nodes.filter((_, i) => beats[i] === null || Number(beats[i]) < cutoff));
    if (dead.size === 0) return records;
    const gone = records.filter((r) => dead.has(r.node)).map((r) => r.client);
    // Pruning is best effort: the next reader filters the same records again.
    redis.hdel(presenceKey, ...gone).catch(() => undefined);
    return records.filter((r) => !dead.has(r.node));
  }

  /** Stops the heartbeat and removes this process's nodes: their presence vanishes at once. */
  async close(): Promise<void> {
    if (this.heartbeat) clearInterval(this.heartbeat);
    const nodes = [...this.local];
    this.local.clear();
    if (nodes.length > 0) {
      await this.options.redis.zrem(this.options.key, ...nodes).catch(() => undefined);
    }
  }

  private startHeartbeat(): void {
    if (this.heartbeat) return;
    const every = Math.max(this.options.timeoutMs / 3, 100);
    this.heartbeat = setInterval(() => void this.beat(), every);
    this.heartbeat.unref();
  }

  private async beat(): Promise<void> {
    const { redis, key } = this.options;
    const now = this.options.now();
    const members = [...this.local].flatMap((node) => [now, node]);
    if (members.length === 0) return;
    try {
      await redis.zadd(key, ...members);
      await redis.zremrangebyscore(key, '-inf', now - FORGET_AFTER_MS);
    } catch (err) {
      this.options.beatFailed(err);
    }
  }
}
