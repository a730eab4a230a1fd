import os from 'node:os';
import './formats';
import { documentStoreSchema } from './document-store';
import { limitsSchema } from './limits';
import { redisSchema } from './redis';

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
  metrics: {
    port: {
      doc: 'A port of this process alone serving GET /metrics and GET /health (plus NODE_APP_INSTANCE, the pm2 instance number); 0 for none. Workers serve these nowhere else; gateways also on PORT.',
      format: 'port',
      default: 0,
      env: 'METRICS_PORT',
    },
    instance: {
      doc: 'Instance number pm2 gives each instance of an app (set by pm2); added to METRICS_PORT.',
      format: 'nat',
      default: 0,
      env: 'NODE_APP_INSTANCE',
    },
  },
  redis: redisSchema,
  serveDemo: {
    doc: 'Serve the demo page (a flow-diagram editor on the SDK) at / and /demo/. When unset: on, except with NODE_ENV=production.',
    format: 'flag',
    default: true,
    env: 'SERVE_DEMO',
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
    jwtSecretPrevious: {
      doc: 'The HS256 secret being rotated out: tokens signed with it are still accepted (until they expire). Set it to the old AUTH_JWT_SECRET during a rotation, then remove it.',
      format: String,
      default: '',
      env: 'AUTH_JWT_SECRET_PREVIOUS',
      sensitive: true,
    },
  },
  limits: limitsSchema,
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
    closeSpreadMs: {
      doc: 'Milliseconds over which a stopping gateway closes its clients, in groups, instead of all at once, so that their reconnects do not reach the other gateways in one wave; clients not yet closed are served meanwhile. At most half of SHUTDOWN_DRAIN_MS is used; 0 closes them all at once.',
      format: 'nat',
      default: 500,
      env: 'SHUTDOWN_CLOSE_SPREAD_MS',
    },
  },
  ...documentStoreSchema,
};
