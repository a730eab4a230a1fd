import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { queueConnection } from '../../src/services/event-ordering/queue-connection';
import { randomKeyPrefix, useRedisServers } from '../support/redis-harness';

/** The connection a gateway's document queues share, against a real Redis. */
const servers = useRedisServers();
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

const open = (connection: Redis, prefix: string, i: number) =>
  new Queue('ops', { connection, prefix: `${prefix}{d${i}}`, skipVersionCheck: true });

describe('the connection of document queues', () => {
  it('keeps one listener per event on the client however many queues open and close', async () => {
    const redis = client();
    const before = redis.listenerCount('error');
    const shared = queueConnection(redis) as Redis;
    const prefix = randomKeyPrefix();
    const queues = Array.from({ length: 50 }, (_, i) => open(shared, prefix, i));
    await Promise.all(queues.map((queue) => queue.waitUntilReady()));
    for (const event of ['error', 'close', 'ready']) {
      expect(redis.listenerCount(event)).toBeLessThanOrEqual(before + 1);
    }
    await Promise.all(queues.map((queue) => queue.close()));
    expect(redis.listenerCount('error')).toBeLessThanOrEqual(before + 1);
  });

  it("adds jobs BullMQ's own reads count, and tells every open queue of a connection error", async () => {
    const redis = client();
    const shared = queueConnection(redis) as Redis;
    const prefix = randomKeyPrefix();
    const [first, second] = [open(shared, prefix, 1), open(shared, prefix, 2)];
    try {
      await first.add('ops', { s: [] }, { jobId: 'a' });
      expect(await first.getJobCounts('wait')).toEqual({ wait: 1 });
      expect(await second.getJobCounts('wait')).toEqual({ wait: 0 });
      const heard: string[] = [];
      first.on('error', (err) => heard.push(`first: ${err.message}`));
      second.on('error', (err) => heard.push(`second: ${err.message}`));
      redis.emit('error', new Error('connection reset'));
      expect(heard.sort()).toEqual(['first: connection reset', 'second: connection reset']);
      // A closed queue hears nothing more.
      await second.close();
      heard.length = 0;
      redis.emit('error', new Error('connection reset'));
      expect(heard).toEqual(['first: connection reset']);
    } finally {
      await Promise.all([first.close(), second.close()]);
    }
  });
});
