import { OrderingKeys } from './ordering-keys';

/**
 * Every Redis key and channel of the product, built in one place.
 *
 * All keys of document D carry the hash tag `{D}` so that they share one Redis
 * Cluster slot: a script may then touch all of them atomically, and different
 * documents spread over the cluster. Document ids cannot contain `{` or `}`
 * (PROTOCOL.md section 2), so the tag is always the document id. A prefix that
 * itself contains `{...}` would put every key in one slot: keep braces out of
 * REDIS_KEY_PREFIX.
 *
 * | key                         | type   | holds                                           | TTL                  |
 * | --------------------------- | ------ | ----------------------------------------------- | -------------------- |
 * | `flow:sessions:{D}`         | hash   | doc, epoch, seq, createdAt, updatedAt (ms); with a document store savedEpoch, savedSeq | REDIS_SESSION_TTL; none while seq > savedSeq |
 * | `flow:state:{D}`            | hash   | `coll/id` -> entity JSON                        | REDIS_SESSION_TTL    |
 * | `flow:history:{D}`          | stream | id `0-<seq>`: client, cseq, ops (JSON), user (with auth) | REDIS_SESSION_TTL |
 * | `flow:dedupe:{D}`           | hash   | submitter (client, or client TAB user) -> `cseq seq ...`: its last 32 applied ops (at most 1,000) | REDIS_SESSION_TTL |
 * | `flow:presence:{D}`         | hash   | client -> presence record JSON (with node)      | REDIS_SESSION_TTL    |
 * | `flow:fence:{D}`            | string | token of the latest processing claim (INCR)     | REDIS_SESSION_TTL    |
 * | `flow:doc:{D}`              | channel| the document's events (pub/sub, sharded on a cluster) | -              |
 * | `flow:saver:{D}`            | string | the process writing the document to the store   | 30 s, released after the write |
 * | `flow:store-sweep`          | string | the process looking for unsaved documents nobody saves | the sweep's lease |
 * | `flow:presence-nodes`       | zset   | node id -> last presence heartbeat (ms)         | none (pruned)        |
 * | `flow:nodes`                | hash   | node id -> its figures (JSON), by heartbeat     | none (stale pruned)  |
 * | `flow:client:{C}`           | hash   | client id C: user (owner), holder (connection)  | REDIS_SESSION_TTL after release |
 * | `flow:node:{N}`             | channel| takeovers of node N's client ids (pub/sub)      | -                    |
 * | `flow:single-process`       | string | the process serving a one-process configuration | 15 s, renewed        |
 * | `flow:q:{D}:ops:*`          | BullMQ | the document's queue (wait list, jobs, meta, events; failed: jobs set aside) | REDIS_SESSION_TTL |
 * | `flow:claim:{D}`            | string | owner of the document's processing lease        | the lease            |
 * | `flow:ready:{ready-<n>}`    | zset   | doc -> time (ms) it is due for a worker; shard n of 16 | none (removed when drained) |
 * | `flow:intents:{ready-<n>}`  | zset   | `<gateway> <doc> <job>` -> time (ms) a gateway's add expires unconfirmed | none |
 * | `flow:ordering-wake:{ready-<n>}` | channel | doc ids of shard n that just became ready | -             |
 *
 * The ordering keys (the last five) are built by OrderingKeys
 * (ordering-keys.ts), reached here as `keys.ordering`.
 */
export interface DocKeys {
  /** The collaboration session hash (PROTOCOL.md section 9). */
  readonly session: string;
  readonly state: string;
  readonly history: string;
  readonly dedupe: string;
  readonly presence: string;
  readonly fence: string;
  /** Pub/sub channel of the document's events, for the WebSocket manager. */
  readonly channel: string;
  /** With a document store: the lease of the one process writing the document's snapshot. */
  readonly saver: string;
}

/** The default of REDIS_KEY_PREFIX. */
export const DEFAULT_KEY_PREFIX = 'flow:';

export class RedisKeys {
  /** The keys of BullMQ ordering: queues, claims, ready and intent sets, wake channels. */
  readonly ordering: OrderingKeys;

  constructor(readonly prefix: string = DEFAULT_KEY_PREFIX) {
    this.ordering = new OrderingKeys(prefix);
  }

  /** The hash tag of a document: every key of the document contains it. */
  static tag(doc: string): string {
    return `{${doc}}`;
  }

  doc(doc: string): DocKeys {
    const tag = RedisKeys.tag(doc);
    const p = this.prefix;
    return {
      session: `${p}sessions:${tag}`,
      state: `${p}state:${tag}`,
      history: `${p}history:${tag}`,
      dedupe: `${p}dedupe:${tag}`,
      presence: `${p}presence:${tag}`,
      fence: `${p}fence:${tag}`,
      channel: `${p}doc:${tag}`,
      saver: `${p}saver:${tag}`,
    };
  }

  /** Sorted set: node id -> time (ms) of its last presence heartbeat. */
  presenceNodes(): string {
    return `${this.prefix}presence-nodes`;
  }

  /** The cluster-wide node registry: node id -> NodeStats JSON, refreshed every second. */
  nodes(): string {
    return `${this.prefix}nodes`;
  }

  /** Who owns and who holds client id C (PROTOCOL.md section 1). */
  clientId(client: string): string {
    return `${this.prefix}client:{${client}}`;
  }

  /** The lease of the one process a configuration with a service in memory may run. */
  singleProcessLease(): string {
    return `${this.prefix}single-process`;
  }

  /** The lease of the one process looking for unsaved documents that no process is saving. */
  storeSweep(): string {
    return `${this.prefix}store-sweep`;
  }

  /** Pub/sub channel telling node N that a newer connection took over one of its client ids. */
  nodeChannel(node: string): string {
    return `${this.prefix}node:{${node}}`;
  }
}
