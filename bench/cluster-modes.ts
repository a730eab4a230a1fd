/** The setups the cluster benchmark compares, and the server settings of every run. */

/** bullmq: 2 gateways + 2 workers, USE_REDIS_EVENT_ORDERING=true; inproc: 2 gateways applying in-process. */
export type ClusterMode = 'bullmq' | 'inproc';

export const MODE_FLAGS: Record<ClusterMode, Record<string, string>> = {
  bullmq: {
    USE_REDIS_WEBSOCKETS: 'true',
    USE_REDIS_COLLABORATION: 'true',
    USE_REDIS_EVENT_ORDERING: 'true',
  },
  inproc: {
    USE_REDIS_WEBSOCKETS: 'true',
    USE_REDIS_COLLABORATION: 'true',
    USE_REDIS_EVENT_ORDERING: 'false',
  },
};

/** Server limits raised so that the load tester, not the rate limiter, decides the load. */
export const BENCH_LIMITS: Record<string, string> = {
  LIMIT_MESSAGES_PER_SECOND: '1000000',
  LIMIT_MESSAGE_BURST: '1000000',
  LIMIT_DOCS_PER_CONNECTION: '1000',
  // An overloaded Redis makes every command "slow": at the default 100 ms a
  // saturated run logged 250,000 warnings per gateway, and writing them cost
  // the CPU being measured.
  REDIS_SLOW_COMMAND_MS: '1000',
};

export const MODE_TITLES: Record<string, string> = {
  memory: '1 process, in memory (flow all)',
  bullmq: '2 gateways + 2 workers, BullMQ ordering, 3-node Redis Cluster',
  inproc: '2 gateways, in-process ordering, 3-node Redis Cluster',
};
