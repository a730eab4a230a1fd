import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ReplicaCount } from '../../src/redis/replica-count';
import { ReplicatedCluster } from './replicated-cluster';

/**
 * REDIS_WAIT_REPLICAS=auto waits for a replica whenever the document's master
 * has one. The count must come from the master itself: CLUSTER SLOTS leaves a
 * replica out for seconds after it attached (until gossip carries its
 * replication offset), and ioredis does not refresh its slot table on its own,
 * so a count read from the table said 0 for a whole run and acknowledged
 * writes no replica had.
 */
describe('ReplicaCount on a cluster with replicas', () => {
  let redis: ReplicatedCluster;
  beforeAll(async () => {
    redis = await ReplicatedCluster.start();
  }, 60_000);
  afterAll(() => redis?.stop());

  const connect = async () => {
    const client = new Cluster(redis.nodes.map((n) => ({ host: n.host, port: n.port })));
    await client.ping();
    return client;
  };
  const keysOfEveryMaster = async () => {
    const keys = new Map<number, string>();
    for (let i = 0; keys.size < 3; i++) {
      const key = `flow:sessions:{rc-${i}}`;
      const master = await redis.masterOf(key);
      if (!keys.has(master.port)) keys.set(master.port, key);
    }
    return keys;
  };

  it('counts the replica of every master from the first call, on a cluster created moments ago', async () => {
    const client = await connect();
    try {
      const count = new ReplicaCount(client);
      for (const key of (await keysOfEveryMaster()).values()) expect(await count.of(key)).toBe(1);
    } finally {
      client.disconnect();
    }
  });

  it('still counts a replica that lags (frozen), and stops counting one that is gone', async () => {
    const client = await connect();
    let now = 0;
    try {
      const count = new ReplicaCount(client, () => now);
      const [[port, key]] = [...(await keysOfEveryMaster()).entries()] as [[number, string]];
      const master = redis.nodes.find((n) => n.port === port);
      if (!master) throw new Error('no master');
      const replica = await redis.replicaOf(master);
      expect(await count.of(key)).toBe(1);

      replica.child.kill('SIGSTOP');
      now += 60_000;
      await count.of(key);
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(await count.of(key)).toBe(1);
      replica.child.kill('SIGCONT');

      await redis.kill(replica);
      const deadline = Date.now() + 10_000;
      let seen = 1;
      while (seen !== 0 && Date.now() < deadline) {
        now += 60_000;
        await count.of(key);
        await new Promise((resolve) => setTimeout(resolve, 100));
        seen = await count.of(key);
      }
      expect(seen).toBe(0);
    } finally {
      client.disconnect();
    }
  }, 30_000);
});
