import type { Logger } from 'pino';
import type { FlowConfig } from '../config';
import { createRedis, readyWithin, type RedisClient } from '../redis';

/** How long an operator's command (`flow docs`, `flow queues`) waits for Redis before it gives up. */
export const OPERATOR_REDIS_WAIT_MS = 5000;

/**
 * A Redis connection for a command an operator runs by hand: it answers
 * within seconds, or the command says that Redis did not answer, instead of
 * waiting on the client's retries (for ever, for BullMQ's reads).
 */
export async function operatorRedis(
  config: FlowConfig,
  log: Logger,
  name: string,
): Promise<RedisClient> {
  const client = createRedis(config, log, name, { lazyConnect: false });
  if (!(await readyWithin(client, OPERATOR_REDIS_WAIT_MS))) {
    client.disconnect();
    throw new Error(`no answer from Redis within ${OPERATOR_REDIS_WAIT_MS / 1000} s`);
  }
  return client;
}
