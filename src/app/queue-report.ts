import type { Logger } from 'pino';
import type { FlowConfig } from '../config';
import type { RedisClient } from '../redis/connection';
import { READY_SHARDS, type OrderingKeys } from '../redis/ordering-keys';
import { RedisKeys } from '../redis/keys';
import { openDocumentQueue } from '../services/event-ordering/document-queue';
import { operatorRedis } from './operator-redis';

/** One document's queue as an operator sees it. */
interface QueueLine {
  doc: string;
  waiting: number;
  oldestAgeMs: number | null;
  /** ms until a poller looks at it (negative: overdue), or null when not marked. */
  dueInMs: number | null;
  owner: string | null;
}

/**
 * `flow queues [doc...]`: the BullMQ queues of Redis ordering. With document
 * ids, each one's counts as BullMQ reports them; without, the busiest
 * documents among those marked ready (the ones with work).
 */
export async function printQueues(
  config: FlowConfig,
  log: Logger,
  docs: readonly string[],
  top = 20,
): Promise<void> {
  const redis = await operatorRedis(config, log, 'queues');
  const keys = new RedisKeys(config.redis.keyPrefix).ordering;
  try {
    if (docs.length > 0) {
      for (const doc of docs) {
        const queue = openDocumentQueue(redis, keys, doc, log);
        try {
          const counts = await queue.getJobCounts('wait', 'active', 'delayed', 'failed');
          const line = await describe(redis, keys, doc);
          console.log(JSON.stringify({ ...line, counts, queueKeys: keys.queueKey(doc, '*') }));
        } finally {
          await queue.close();
        }
      }
      return;
    }
    const marked: string[] = [];
    for (let shard = 0; shard < READY_SHARDS; shard++) {
      marked.push(...(await redis.zrange(keys.ready(shard), '0', '-1')));
    }
    const lines = await Promise.all(marked.map((doc) => describe(redis, keys, doc)));
    lines.sort((a, b) => b.waiting - a.waiting);
    console.log(
      `${marked.length} documents marked ready; the ${Math.min(top, lines.length)} with the most waiting jobs:`,
    );
    console.log(['doc', 'waiting jobs', 'oldest (ms)', 'due in (ms)', 'owner'].join('\t'));
    for (const l of lines.slice(0, top)) {
      console.log(
        [l.doc, l.waiting, l.oldestAgeMs ?? '-', l.dueInMs ?? '-', l.owner ?? '-']
          .map(String)
          .join('\t'),
      );
    }
  } finally {
    await redis.quit().catch(() => redis.disconnect());
  }
}

async function describe(redis: RedisClient, keys: OrderingKeys, doc: string): Promise<QueueLine> {
  const now = Date.now();
  const wait = keys.queueKey(doc, 'wait');
  const [waiting, oldestId, owner, score] = await Promise.all([
    redis.llen(wait),
    redis.lindex(wait, -1),
    redis.get(keys.claim(doc)),
    redis.zscore(keys.ready(keys.shardOf(doc)), doc),
  ]);
  const added = oldestId ? await redis.hget(keys.queueKey(doc, oldestId), 'timestamp') : null;
  return {
    doc,
    waiting,
    oldestAgeMs: added ? now - Number(added) : null,
    dueInMs: score === null ? null : Math.round(Number(score) - now),
    owner,
  };
}
