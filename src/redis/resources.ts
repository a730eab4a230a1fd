import type { FlowConfig } from '../config';
import type { Logger } from 'pino';
import {
  clusterNodeProblem,
  connectionProblemText,
  createRedis,
  describeTarget,
  isCluster,
  readyWithin,
  RedisKeys,
  type RedisClient,
} from './';
import type { RedisMetrics } from './instrument';

/**
 * The Redis connections of one process, opened on first use and shared by
 * every service: one for commands, one for subscriptions. Their number does
 * not grow with documents, queues or clients.
 */
export class RedisResources {
  readonly keys: RedisKeys;
  private commandClient: RedisClient | undefined;
  private subscriberClient: RedisClient | undefined;
  /** The command connection's error since it was last ready, for /health. */
  private connectionError: unknown;

  constructor(
    private readonly config: FlowConfig,
    private readonly log: Logger,
    /** Counts errors and slow commands of both connections (the process's metrics). */
    private readonly metrics?: RedisMetrics,
  ) {
    this.keys = new RedisKeys(config.redis.keyPrefix);
  }

  /** Cluster mode: sharded pub/sub; single Redis: plain pub/sub. */
  get sharded(): boolean {
    return this.config.redis.clusterNodes !== '';
  }

  get target(): string {
    return describeTarget(this.config);
  }

  get commands(): RedisClient {
    if (this.commandClient) return this.commandClient;
    const client = createRedis(this.config, this.log, 'commands', {
      metrics: this.metrics,
      checkEvictionPolicy: true,
      autoPipelining: this.config.redis.autoPipelining,
    });
    // Once, at creation: every /health reads this getter.
    client.on('error', (err: unknown) => (this.connectionError = err));
    client.on('ready', () => (this.connectionError = undefined));
    this.commandClient = client;
    return client;
  }

  get subscriber(): RedisClient {
    // A subscriber must wait for Redis however long it takes: a failed
    // SUBSCRIBE would leave a document silently deaf.
    this.subscriberClient ??= createRedis(this.config, this.log, 'subscriber', {
      shardedSubscribers: this.sharded,
      maxRetriesPerRequest: null,
      metrics: this.metrics,
    });
    return this.subscriberClient;
  }

  /**
   * Waits until the command connection is ready, at most `ms`. Startup uses
   * it so that the log reads in order (connected, then the services); when
   * Redis is down the process starts anyway and reports it.
   */
  waitReady(ms: number): Promise<boolean> {
    return readyWithin(this.commands, ms);
  }

  /**
   * `ok`, or what is wrong, for /health. On a cluster a PING is not enough:
   * the nodes that are up answer it while a master without a replica is
   * down and every command on its slots fails with CLUSTERDOWN, so ask one
   * node for the cluster's state instead.
   */
  async check(timeoutMs = 1000): Promise<string> {
    const client = this.commands;
    const probe = this.sharded
      ? client.call('CLUSTER', 'INFO').then((info) => this.clusterProblem(String(info)) ?? 'ok')
      : client.ping().then(async () => (await this.clusterNodeProblem()) ?? 'ok');
    const answer = Promise.race([
      probe,
      new Promise<string>((resolve) =>
        setTimeout(() => {
          // A refused password or an unreachable host keeps the probe queued:
          // name what the connection last said rather than only the silence.
          const error = this.connectionError;
          resolve(
            error === undefined
              ? `no answer from Redis at ${this.target} within ${timeoutMs} ms`
              : `Redis at ${this.target}: ${connectionProblemText(error)}`,
          );
        }, timeoutMs).unref(),
      ),
    ]);
    try {
      return await answer;
    } catch (err) {
      return `Redis at ${this.target}: ${connectionProblemText(err)}`;
    }
  }

  /**
   * With single-Redis settings: what to change when the Redis is a Cluster
   * node (it answers only for its own slots), undefined when it is not.
   */
  clusterNodeProblem(): Promise<string | undefined> {
    return this.sharded
      ? Promise.resolve(undefined)
      : clusterNodeProblem(this.commands, this.target);
  }

  private clusterProblem(info: string): string | undefined {
    const state = /cluster_state:(\w+)/.exec(info)?.[1];
    if (state === 'ok') return undefined;
    return (
      `Redis ${this.target} reports cluster_state:${state ?? 'unknown'}: ` +
      'a master is down with no replica to take over (commands answer CLUSTERDOWN); check the cluster nodes'
    );
  }

  get isCluster(): boolean {
    return this.commandClient !== undefined && isCluster(this.commandClient);
  }

  async close(): Promise<void> {
    const clients = [this.subscriberClient, this.commandClient].filter(
      (c): c is RedisClient => c !== undefined,
    );
    this.subscriberClient = undefined;
    this.commandClient = undefined;
    await Promise.allSettled(
      clients.map(async (client) => {
        try {
          await Promise.race([
            client.quit(),
            new Promise((resolve) => setTimeout(resolve, 1000).unref()),
          ]);
        } finally {
          client.disconnect();
        }
      }),
    );
  }
}
