import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import { redisDebugEnabled, type FlowConfig } from '../config';
import type { Logger } from 'pino';
import { logConnectionLifecycle } from './connection-log';
import { ClusterUnreachableError } from './errors';
import { redisTlsOptions } from './tls';
import { instrumentCommands, redisErrorKind, type RedisMetrics } from './instrument';

/** A connection to a single Redis or to a Redis Cluster; both speak the same commands. */
export type RedisClient = Redis | Cluster;

export interface CreateRedisOptions {
  /**
   * Overrides REDIS_MAX_RETRIES. BullMQ Workers need `null` (a blocking
   * connection must wait for Redis forever instead of failing its command).
   */
  maxRetriesPerRequest?: number | null;
  /** Sharded pub/sub on a cluster (SSUBSCRIBE); needs its own connection per shard. */
  shardedSubscribers?: boolean;
  /** Do not connect before the first command. */
  lazyConnect?: boolean;
  /** Auto-pipelining (REDIS_AUTO_PIPELINING); never on a subscriber connection. @default false */
  autoPipelining?: boolean;
  /** Told of failed commands, connection errors and slow commands (the process's metrics). */
  metrics?: RedisMetrics;
  /**
   * Read maxmemory-policy whenever the connection becomes ready and log an
   * error when Redis may evict keys. One connection per process is enough.
   */
  checkEvictionPolicy?: boolean;
}

/**
 * Logged at error level when a Redis (or a cluster master) may evict keys.
 * Every key of a document has a TTL, so even the volatile-* policies that
 * managed services set by default may pick them.
 */
export const EVICTION_POLICY_MESSAGE =
  'Redis may evict keys (maxmemory-policy is not noeviction): document state and queued op messages ' +
  'could vanish without a trace; set maxmemory-policy noeviction (Flow then refuses writes with ' +
  'UNAVAILABLE when memory is full, and nothing is lost)';

/** Milliseconds before reconnection attempt `times`: REDIS_RETRY_DELAY growing linearly to 5x. */
export function retryDelay(config: FlowConfig, times: number): number {
  const base = Math.max(config.redis.retryDelayMs, 10);
  return Math.min(base * Math.max(times, 1), base * 5);
}

/** Cluster seed nodes from REDIS_CLUSTER_NODES, or an empty list in single-Redis mode. */
export function clusterSeeds(config: FlowConfig): Array<{ host: string; port: number }> {
  if (config.redis.clusterNodes === '') return [];
  return config.redis.clusterNodes.split(',').map((part) => {
    const [host = '', port = ''] = part.trim().split(':');
    return { host, port: Number(port) };
  });
}

/** Where the connection goes, for log lines: `host:port` or `cluster h1:p1,h2:p2`. Never the password. */
export function describeTarget(config: FlowConfig): string {
  const seeds = clusterSeeds(config);
  if (seeds.length > 0) return `cluster ${seeds.map((s) => `${s.host}:${s.port}`).join(',')}`;
  return `${config.redis.host}:${config.redis.port}`;
}

/**
 * Opens a connection for one purpose (`collaboration`, `pubsub`, `queue`...):
 * a Cluster when REDIS_CLUSTER_NODES is set, a single Redis otherwise. The
 * purpose names the connection in `CLIENT LIST` and in every log line.
 * The caller owns the connection and ends it with `quit()`.
 */
export function createRedis(
  config: FlowConfig,
  log: Logger,
  purpose: string,
  options: CreateRedisOptions = {},
): RedisClient {
  const r = config.redis;
  const connectionLog = log.child({ component: 'redis' });
  const common: RedisOptions = {
    username: r.username === '' ? undefined : r.username,
    password: r.password === '' ? undefined : r.password,
    connectionName: `flow:${purpose}`,
    maxRetriesPerRequest:
      options.maxRetriesPerRequest === undefined ? r.maxRetries : options.maxRetriesPerRequest,
    enableReadyCheck: true,
    enableAutoPipelining: options.autoPipelining ?? false,
    lazyConnect: options.lazyConnect ?? false,
    tls: redisTlsOptions(config),
  };

  const seeds = clusterSeeds(config);
  let client: RedisClient;
  if (seeds.length > 0) {
    const maxRetries = common.maxRetriesPerRequest ?? null;
    const clusterOptions: ClusterOptions = {
      redisOptions: common,
      clusterRetryStrategy: (times: number) => {
        // A single Redis fails its queued commands every maxRetriesPerRequest + 1
        // attempts; a Cluster would keep them forever. Do the same for it, so
        // that callers answer UNAVAILABLE instead of hanging while no node answers.
        if (maxRetries !== null && times % (maxRetries + 1) === 0)
          failQueuedCommands(client, times);
        return retryDelay(config, times);
      },
      // Measured: with 500 ms, 16 redirections outlast a failover (DESIGN.md).
      retryDelayOnFailover: 500,
      retryDelayOnClusterDown: 500,
      retryDelayOnTryAgain: 500,
      slotsRefreshTimeout: 10_000,
      enableReadyCheck: true,
      enableAutoPipelining: options.autoPipelining ?? false,
      lazyConnect: options.lazyConnect ?? false,
      shardedSubscribers: options.shardedSubscribers ?? false,
      // TLS certificates of managed clusters (ElastiCache) name the configured
      // host, not the IP it resolves to: keep the name for the TLS handshake.
      ...(r.tls
        ? {
            dnsLookup: (address: string, callback: (err: null, address: string) => void) =>
              callback(null, address),
          }
        : {}),
    };
    client = new Cluster(seeds, clusterOptions);
  } else {
    client = new Redis({
      ...common,
      host: r.host,
      port: r.port,
      db: r.db,
      retryStrategy: (times: number) => retryDelay(config, times),
    });
  }

  logConnectionLifecycle(client, connectionLog, {
    where: describeTarget(config),
    purpose,
    password: r.password,
    username: r.username,
  });
  instrumentCommands(client, connectionLog, {
    slowCommandMs: r.slowCommandMs,
    trace: redisDebugEnabled(config),
    metrics: options.metrics,
  });
  countConnectionErrors(client, options.metrics);
  if (options.checkEvictionPolicy)
    watchEvictionPolicy(client, connectionLog, describeTarget(config));
  return client;
}

/** Checks the policy at every `ready`; logs each node's unsafe policy once. */
function watchEvictionPolicy(client: RedisClient, log: Logger, where: string): void {
  const reported = new Set<string>();
  const check = async () => {
    const nodes: Redis[] = isCluster(client) ? client.nodes('master') : [client];
    for (const node of nodes) {
      const info = await node.info('memory');
      const policy = /^maxmemory_policy:(\S+)/m.exec(info)?.[1];
      if (policy === undefined || policy === 'noeviction') continue;
      const address = `${node.options.host ?? ''}:${node.options.port ?? ''}`;
      if (reported.has(`${address} ${policy}`)) continue;
      reported.add(`${address} ${policy}`);
      const maxmemory = Number(/^maxmemory:(\d+)/m.exec(info)?.[1] ?? 0);
      log.error({ redis: where, node: address, policy, maxmemory }, EVICTION_POLICY_MESSAGE);
    }
  };
  // INFO may be refused (a restricted ACL user); the check is advice, not a gate.
  client.on('ready', () => void check().catch(() => undefined));
}

/**
 * Counts every error event: each reconnection attempt that fails is one, so
 * the rate shows how long and how hard Redis was away. A cluster reports a
 * failing node as `node error` and its own failures as `error`.
 */
function countConnectionErrors(client: RedisClient, metrics: RedisMetrics | undefined): void {
  if (!metrics) return;
  const onError = (err: unknown) =>
    metrics.redisErrors.inc({ source: 'connection', kind: redisErrorKind(err) });
  client.on('error', onError);
  if (isCluster(client)) client.on('node error', onError);
}

/**
 * Rejects the commands a Cluster holds while it has no node to send them to.
 * `flushQueue` is internal to ioredis (no public equivalent exists); without
 * it the call is skipped and commands wait for the cluster to come back.
 */
function failQueuedCommands(client: RedisClient | undefined, attempts: number): void {
  const internals = client as unknown as { flushQueue?: (error: Error) => void } | undefined;
  internals?.flushQueue?.(new ClusterUnreachableError(attempts));
}

export function isCluster(client: RedisClient): client is Cluster {
  return client instanceof Cluster;
}

/** Resolves true once the connection is ready (at once when it is), false after `ms`. */
export function readyWithin(client: RedisClient, ms: number): Promise<boolean> {
  if (client.status === 'ready') return Promise.resolve(true);
  return new Promise((resolve) => {
    const onReady = () => {
      clearTimeout(timer);
      resolve(true);
    };
    const timer = setTimeout(() => {
      client.off('ready', onReady);
      resolve(false);
    }, ms);
    client.once('ready', onReady);
  });
}
