import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { openDocumentQueue } from '../../src/services/event-ordering/document-queue';
import { sharedQueueBackend } from '../../src/services/event-ordering/queue-backend';
import { OrderingKeys } from '../../src/redis/ordering-keys';
import { randomDocId, randomKeyPrefix, useRedisServers } from '../support/redis-harness';

/** The backend a gateway's document queues share, against a real Redis. */
const servers = useRedisServers();
const quiet = pino({ level: 'silent' });
const clients: Redis[] = [];
afterEach(() => {
  for (const client of clients.splice(0)) client.disconnect();
});

function client(): Redis {
  const { host, port } = servers.addresses.single;
  const made = new Redis(port, host, { maxRetriesPerRequest: 3 });
  clients.push(made);
  return made;
}

describe('document queues on a shared backend', () => {
  it('put nothing on the connection per queue, and each adds to its own document', async () => {
    const redis = client();
    await redis.ping();
    const keys = new OrderingKeys(randomKeyPrefix());
    const shared = sharedQueueBackend(redis, keys.queueName);
    const docs = Array.from({ length: 50 }, () => randomDocId('shared'));
    const queues: Queue[] = [];
    try {
      for (const doc of docs)
        queues.push(openDocumentQueue(redis, keys, doc, quiet, { backend: shared.factory }));
      await Promise.all(queues.map((queue, i) => queue.add('ops', { s: [] }, { jobId: `j${i}` })));
      // One wrapper of the connection for all: its listeners, not 50 sets of them.
      expect(redis.listenerCount('error')).toBeLessThanOrEqual(2);
      expect(redis.listenerCount('ready')).toBeLessThanOrEqual(2);
      const counts = await Promise.all(queues.map((queue) => queue.getJobCounts('wait')));
      expect(counts).toEqual(docs.map(() => ({ wait: 1 })));
      expect(await redis.llen(keys.queueKey(docs[7]!, 'wait'))).toBe(1);
      // Closing queues leaves the connection to the others.
      await Promise.all(queues.slice(0, 49).map((queue) => queue.close()));
      await queues[49]!.add('ops', { s: [] }, { jobId: 'after' });
      expect(await queues[49]!.getJobCounts('wait')).toEqual({ wait: 2 });
    } finally {
      await Promise.all(queues.map((queue) => queue.close()));
      await shared.close();
    }
    // The connection is the caller's: still open.
    expect(await redis.ping()).toBe('PONG');
  });

  it('survives an error of the connection (which the connection reports itself)', async () => {
    const redis = client();
    const keys = new OrderingKeys(randomKeyPrefix());
    const shared = sharedQueueBackend(redis, keys.queueName);
    const queue = openDocumentQueue(redis, keys, randomDocId('err'), quiet, {
      backend: shared.factory,
    });
    try {
      await queue.waitUntilReady();
      expect(() => redis.emit('error', new Error('connection reset'))).not.toThrow();
    } finally {
      await queue.close();
      await shared.close();
    }
  });
});
