export interface RedisEndpoint {
  host: string;
  port: number;
}

/** One running Redis (process or container); `stop()` is idempotent and removes its data. */
export interface StartedRedis extends RedisEndpoint {
  stop(): Promise<void>;
}

/** A running 3-master Redis Cluster; `stop()` is idempotent. */
export interface StartedRedisCluster {
  nodes: RedisEndpoint[];
  /** The redis-server processes, when started as processes here (for CPU figures). */
  pids?: number[];
  stop(): Promise<void>;
}

/** What a vitest globalSetup hands to the test files (plain data: it crosses processes). */
export interface RedisServerAddresses {
  single: RedisEndpoint;
  cluster: RedisEndpoint[];
}
