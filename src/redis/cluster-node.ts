import type { RedisClient } from './connection';

/**
 * What an operator must change when single-Redis settings (REDIS_HOST,
 * REDIS_PORT) point at a node of a Redis Cluster: that node answers PING and
 * the commands of its own slots, but every document on another node's slots
 * fails with MOVED, which a single-Redis connection does not follow.
 */
export function clusterNodeMessage(where: string): string {
  return (
    `${where} is a Redis Cluster node: set REDIS_CLUSTER_NODES (for example ` +
    `REDIS_CLUSTER_NODES=${where}) instead of REDIS_HOST and REDIS_PORT`
  );
}

/**
 * The message above when the connected Redis has cluster mode on, undefined
 * otherwise. A Redis that refuses INFO (a restricted ACL user) is taken as it
 * is: the check is a guard against a wrong setting, not a gate.
 */
export async function clusterNodeProblem(
  client: RedisClient,
  where: string,
): Promise<string | undefined> {
  let info: string;
  try {
    info = await client.info('cluster');
  } catch {
    return undefined;
  }
  return /^cluster_enabled:1/m.test(info) ? clusterNodeMessage(where) : undefined;
}
