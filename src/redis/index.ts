/**
 * The Redis foundation: connections (single Redis or Cluster) with the
 * operator-facing log lines, the key layout, Lua script loading, and the
 * mapping of Redis outages to UNAVAILABLE.
 */
export {
  clusterSeeds,
  createRedis,
  describeTarget,
  isCluster,
  readyWithin,
  retryDelay,
  type CreateRedisOptions,
  type RedisClient,
} from './connection';
export { clusterNodeMessage, clusterNodeProblem } from './cluster-node';
export { ConnectionMessages, connectionProblemText, DOCKER_START_COMMAND } from './connection-log';
export {
  asServiceError,
  ClusterUnreachableError,
  redisFailureKind,
  unavailableFrom,
  type RedisFailureKind,
} from './errors';
export { SLOW_COMMAND_MESSAGE, TRACE_COMMAND_MESSAGE } from './instrument';
export { DEFAULT_KEY_PREFIX, RedisKeys, type DocKeys } from './keys';
export { LuaScript } from './lua-script';
