/** Where Redis is, how to reach it, and how it is named and watched. */
export const redisSchema = {
  host: {
    doc: 'Redis host (single Redis).',
    format: String,
    default: 'localhost',
    env: 'REDIS_HOST',
  },
  port: { doc: 'Redis port (single Redis).', format: 'port', default: 6379, env: 'REDIS_PORT' },
  username: {
    doc: 'Redis ACL user name; empty for the default user.',
    format: String,
    default: '',
    env: 'REDIS_USERNAME',
  },
  password: {
    doc: 'Redis password; empty when Redis has none.',
    format: String,
    default: '',
    env: 'REDIS_PASSWORD',
    sensitive: true,
  },
  db: {
    doc: 'Redis database number (single Redis only; a cluster has only 0).',
    format: 'nat',
    default: 0,
    env: 'REDIS_DB',
  },
  clusterNodes: {
    doc: 'Comma-separated host:port seeds of a Redis Cluster; when set, cluster mode is used and REDIS_HOST/REDIS_PORT are ignored.',
    format: 'host-port-list',
    default: '',
    env: 'REDIS_CLUSTER_NODES',
  },
  tls: {
    doc: 'Connect to Redis over TLS (Azure Cache on 6380, ElastiCache in-transit encryption).',
    format: 'flag',
    default: false,
    env: 'REDIS_TLS',
  },
  tlsRejectUnauthorized: {
    doc: 'Verify the Redis server certificate when REDIS_TLS is on.',
    format: 'flag',
    default: true,
    env: 'REDIS_TLS_REJECT_UNAUTHORIZED',
  },
  keyPrefix: {
    doc: 'Prefix of every Redis key and channel.',
    format: String,
    default: 'flow:',
    env: 'REDIS_KEY_PREFIX',
  },
  sessionTtlSeconds: {
    doc: 'Seconds after the last activity when a document and its keys expire; 0 keeps them forever.',
    format: 'nat',
    default: 3600,
    env: 'REDIS_SESSION_TTL',
  },
  maxRetries: {
    doc: 'Retries of one Redis command before it fails (the request then answers UNAVAILABLE).',
    format: 'nat',
    default: 3,
    env: 'REDIS_MAX_RETRIES',
  },
  retryDelayMs: {
    doc: 'Milliseconds between reconnection attempts (grows up to 5x this value).',
    format: 'nat',
    default: 1000,
    env: 'REDIS_RETRY_DELAY',
  },
  waitReplicas: {
    doc: 'Replicas that must hold a change before it is acknowledged (Redis WAIT); 1 with a replica per master keeps acknowledged ops through a failover. 0 does not wait.',
    format: 'nat',
    default: 0,
    env: 'REDIS_WAIT_REPLICAS',
  },
  waitTimeoutMs: {
    doc: 'Milliseconds to wait for REDIS_WAIT_REPLICAS before acknowledging anyway (with a warning).',
    format: 'positive-int',
    default: 1000,
    env: 'REDIS_WAIT_TIMEOUT_MS',
  },
  slowCommandMs: {
    doc: 'A Redis command slower than this many milliseconds is logged as slow.',
    format: 'nat',
    default: 100,
    env: 'REDIS_SLOW_COMMAND_MS',
  },
};
