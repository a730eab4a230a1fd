import { Cluster, type Redis } from 'ioredis';
import type { RedisClient } from './connection';
import { keySlot } from './key-slot';

/** How long a master's replica count is trusted before it is asked again, ms. */
const REFRESH_MS = 1_000;

/**
 * How many replicas the master holding a key has, answered without a round
 * trip per call: REDIS_WAIT_REPLICAS=auto asks it after every apply.
 *
 * The answer is the master's own: the replicas INFO replication lists as
 * `state=online`, asked again at most every second in the background (the
 * first call for a master waits for it). A replica that lags, even one that
 * stopped answering, stays listed until the master drops its link
 * (repl-timeout): that is the replica a failover could promote without the
 * last writes, so it must be counted. A replica still loading its first sync
 * is not online and is not waited for.
 *
 * Not the cluster's slot table: CLUSTER SLOTS leaves a replica out until
 * gossip carries its replication offset (seconds after it attached), and
 * ioredis reads that table only at connect and on redirections. Where INFO is
 * refused (a restricted ACL user) the slot table is the fallback.
 */
export class ReplicaCount {
  private readonly known = new Map<string, { count: number; at: number }>();
  private readonly asking = new Map<string, Promise<number>>();

  constructor(
    private readonly redis: RedisClient,
    private readonly now: () => number = Date.now,
  ) {}

  async of(key: string): Promise<number> {
    const master = this.masterOf(key);
    if (master === undefined) return this.fromSlotTable(key);
    const known = this.known.get(master.address);
    if (known === undefined) return this.ask(master.address, master.node, key);
    // A stale count is still the best guess; the refresh must not delay the ack.
    if (this.now() - known.at >= REFRESH_MS)
      this.ask(master.address, master.node, key).catch(() => undefined);
    return known.count;
  }

  private masterOf(key: string): { address: string; node: Redis } | undefined {
    if (!(this.redis instanceof Cluster)) return { address: '', node: this.redis };
    const address = this.redis.slots[keySlot(key)]?.[0];
    if (address === undefined) return undefined;
    const node = this.redis
      .nodes('master')
      .find((n) => `${n.options.host ?? ''}:${n.options.port ?? ''}` === address);
    return node === undefined ? undefined : { address, node };
  }

  private fromSlotTable(key: string): number {
    if (!(this.redis instanceof Cluster)) return 0;
    const nodes = this.redis.slots[keySlot(key)];
    return nodes === undefined ? 0 : Math.max(0, nodes.length - 1);
  }

  private ask(address: string, node: Redis, key: string): Promise<number> {
    let pending = this.asking.get(address);
    if (pending === undefined) {
      pending = (async () => {
        try {
          const info = await node.info('replication');
          const count = info.split('\n').filter((line) => ONLINE_REPLICA.test(line)).length;
          this.known.set(address, { count, at: this.now() });
          return count;
        } catch {
          return this.fromSlotTable(key);
        } finally {
          this.asking.delete(address);
        }
      })();
      this.asking.set(address, pending);
    }
    return pending;
  }
}

/** A line of INFO replication naming a replica in sync, e.g. `slave0:ip=…,state=online,…`. */
const ONLINE_REPLICA = /^slave\d+:.*\bstate=online\b/;
