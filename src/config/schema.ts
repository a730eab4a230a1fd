import convict from 'convict';
import os from 'node:os';

/**
 * Strict boolean for flags: `true`/`false`/`1`/`0` only. convict's own Boolean
 * coercion turns any unknown word into `true`, which would silently switch a
 * Redis service on for a typo such as `USE_REDIS_WEBSOCKETS=ture`.
 */
convict.addFormat({
  name: 'flag',
  validate(value: unknown) {
    if (typeof value !== 'boolean') throw new Error('must be true or false (or 1 or 0)');
  },
  coerce(value: unknown) {
    if (value === 'true' || value === '1') return true;
    if (value === 'false' || value === '0' || value === '') return false;
    return value;
  },
});

convict.addFormat({
  name: 'positive-int',
  validate(value: unknown) {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
      throw new Error('must be a whole number of at least 1');
    }
  },
  coerce: (value: unknown) => (typeof value === 'string' && value !== '' ? Number(value) : value),
});

convict.addFormat({
  name: 'host-port-list',
  validate(value: unknown) {
    if (typeof value !== 'string') throw new Error('must be a comma-separated host:port list');
    if (value === '') return;
    for (const part of value.split(',')) {
      if (!/^[^\s:,]+:\d{1,5}$/.test(part.trim())) {
        throw new Error(`must be a comma-separated host:port list; "${part}" is not host:port`);
      }
    }
  },
});

convict.addFormat({
  name: 'idle-timeout',
  validate(value: unknown) {
    // uWebSockets.js aborts the process for 1-7 and above 960 seconds.
    if (
      typeof value !== 'number' ||
      !Number.isInteger(value) ||
      !(value === 0 || (value >= 8 && value <= 960))
    ) {
      throw new Error('must be 0 (no timeout) or a whole number of seconds from 8 to 960');
    }
  },
  coerce: (value: unknown) => (typeof value === 'string' && value !== '' ? Number(value) : value),
});

const defaultNodeId = `${os.hostname()}-${process.pid}`;

export const schema = {
  nodeEnv: {
    doc: 'Runtime environment; development enables readable logs.',
    format: ['development', 'production', 'test'],
    default: 'production',
    env: 'NODE_ENV',
  },
  debug: {
    doc: 'Debug namespaces; `redis:*` traces every Redis command at debug level.',
    format: String,
    default: '',
    env: 'DEBUG',
  },
  logLevel: {
    doc: 'Log level: fatal, error, warn, info, debug, trace or silent.',
    format: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
    default: 'info',
    env: 'LOG_LEVEL',
  },
  nodeId: {
    doc: 'Id of this process as reported in `welcome.node` and /ws/stats; hostname-pid by default.',
    format: String,
    default: defaultNodeId,
    env: 'NODE_ID',
  },
  host: {
    doc: 'Address the gateway listens on.',
    format: String,
    default: '0.0.0.0',
    env: 'HOST',
  },
  port: {
    doc: 'Port of the gateway (WebSocket and HTTP); 0 picks a free port.',
    format: 'port',
    default: 3001,
    env: 'PORT',
  },
  redis: {
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
    autoPipelining: {
      doc: 'Commands issued in one event-loop turn leave in one socket write per Redis node (ioredis auto-pipelining): fewer system calls per op.',
      format: 'flag',
      default: false,
      env: 'REDIS_AUTO_PIPELINING',
    },
    slowCommandMs: {
      doc: 'A Redis command slower than this many milliseconds is logged as slow.',
      format: 'nat',
      default: 100,
      env: 'REDIS_SLOW_COMMAND_MS',
    },
  },
  memorySeedFromRedis: {
    doc: 'With USE_REDIS_COLLABORATION=false: load a document from Redis (state, seq, epoch, dedupe records) the first time this process opens it, so that a rollback to in-memory keeps acknowledged documents. Needs Redis reachable; off by default so that `npm start` needs nothing.',
    format: 'flag',
    default: false,
    env: 'MEMORY_SEED_FROM_REDIS',
  },
  flags: {
    websockets: {
      doc: 'Use the Redis WebSocket manager (fan-out between gateways).',
      format: 'flag',
      default: false,
      env: 'USE_REDIS_WEBSOCKETS',
    },
    collaboration: {
      doc: 'Use the Redis collaboration service (sessions, state, history, presence in Redis).',
      format: 'flag',
      default: false,
      env: 'USE_REDIS_COLLABORATION',
    },
    eventOrdering: {
      doc: 'Use the Redis event ordering service (per-document BullMQ queues and worker processes).',
      format: 'flag',
      default: false,
      env: 'USE_REDIS_EVENT_ORDERING',
    },
  },
  auth: {
    jwtSecret: {
      doc: 'HS256 secret; when set every WebSocket upgrade and /docs request needs a token.',
      format: String,
      default: '',
      env: 'AUTH_JWT_SECRET',
      sensitive: true,
    },
  },
  limits: {
    maxPayloadBytes: {
      doc: 'Largest WebSocket frame a client may send, in bytes; larger closes with 1009.',
      format: 'positive-int',
      default: 65536,
      env: 'WS_MAX_PAYLOAD_BYTES',
    },
    maxBackpressureBytes: {
      doc: 'Bytes queued for a client before it is closed with 1013 (it cannot keep up).',
      format: 'positive-int',
      default: 1048576,
      env: 'WS_MAX_BACKPRESSURE_BYTES',
    },
    idleTimeoutSeconds: {
      doc: 'Seconds without traffic before a connection is closed (the server pings before that).',
      format: 'idle-timeout',
      default: 120,
      env: 'WS_IDLE_TIMEOUT',
    },
    messagesPerSecond: {
      doc: 'Messages per second a connection may send (sustained); more are answered RATE_LIMITED.',
      format: 'positive-int',
      default: 1000,
      env: 'LIMIT_MESSAGES_PER_SECOND',
    },
    messageBurst: {
      doc: 'Messages a connection may send at once above its sustained rate.',
      format: 'positive-int',
      default: 2000,
      env: 'LIMIT_MESSAGE_BURST',
    },
    presencePerSecond: {
      doc: 'Presence updates per second a connection may send; more are dropped with RATE_LIMITED.',
      format: 'positive-int',
      default: 30,
      env: 'LIMIT_PRESENCE_PER_SECOND',
    },
    docsPerConnection: {
      doc: 'Documents one connection may have joined at once.',
      format: 'positive-int',
      default: 100,
      env: 'LIMIT_DOCS_PER_CONNECTION',
    },
  },
  history: {
    length: {
      doc: 'Events kept per document for catch-up; a client further behind gets a snapshot.',
      format: 'positive-int',
      default: 1000,
      env: 'HISTORY_LENGTH',
    },
  },
  ordering: {
    leaseMs: {
      doc: 'Milliseconds a worker holds a document without renewing; after a worker dies, another takes its documents over within this time.',
      format: 'positive-int',
      default: 5000,
      env: 'ORDERING_LEASE_MS',
    },
    workerConcurrency: {
      doc: 'Documents one worker process applies at once.',
      format: 'positive-int',
      default: 64,
      env: 'ORDERING_WORKER_CONCURRENCY',
    },
    batchMax: {
      doc: 'Op messages of one document applied together in one batch at most.',
      format: 'positive-int',
      default: 100,
      env: 'ORDERING_BATCH_MAX',
    },
  },
  shutdown: {
    drainMs: {
      doc: 'Milliseconds a stopping process waits for in-flight work before it exits.',
      format: 'nat',
      default: 5000,
      env: 'SHUTDOWN_DRAIN_MS',
    },
  },
};
