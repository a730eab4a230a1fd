import { createHash } from 'node:crypto';

/**
 * Names of the ordering layer: per-document BullMQ queues and the ready sets
 * that let workers find documents with work without scanning every queue.
 *
 * | key / name                              | type    | holds                                        |
 * | --------------------------------------- | ------- | -------------------------------------------- |
 * | `flow:q:{D}:ops:*` (a BullMQ queue)       | BullMQ  | the document's op batches (wait list, jobs)   |
 * | `flow:claim:{D}`                        | string  | owner of the document's processing lease      |
 * | `flow:ready:{ready-<n>}`                | zset    | doc -> time (ms) it is due for a worker; shard n of READY_SHARDS |
 * | `flow:intents:{ready-<n>}`              | zset    | `<gateway> <doc> <job>` -> time (ms) a gateway's add expires unconfirmed |
 * | `flow:ordering-wake:{ready-<n>}`        | channel | doc ids of shard n that just became ready      |
 */
export const READY_SHARDS = 16;

export class OrderingKeys {
  constructor(readonly prefix: string) {}

  /**
   * The BullMQ prefix of a document's queue. The hash tag sits in the prefix
   * (BullMQ queue names may not contain `:`, which document ids may), so the
   * queue's keys share the document's `{D}` slot with its other keys.
   */
  queuePrefix(doc: string): string {
    return `${this.prefix}q:{${doc}}`;
  }

  /** Every document's queue has the same name under its own prefix: keys `flow:q:{D}:ops:<suffix>`. */
  readonly queueName = 'ops';

  claim(doc: string): string {
    return `${this.prefix}claim:{${doc}}`;
  }

  shardOf(doc: string): number {
    return createHash('md5').update(doc).digest().readUInt16BE(0) % READY_SHARDS;
  }

  ready(shard: number): string {
    return `${this.prefix}ready:{ready-${shard}}`;
  }

  /** A gateway's "about to add jobs to doc": found by pollers if the gateway never confirms it. */
  intents(shard: number): string {
    return `${this.prefix}intents:{ready-${shard}}`;
  }

  /** The keys of a document's BullMQ queue (BullMQ's layout: `<prefix>:<name>:<suffix>`). */
  queueKey(doc: string, suffix: string): string {
    return `${this.queuePrefix(doc)}:${this.queueName}:${suffix}`;
  }

  wakeChannel(shard: number): string {
    return `${this.prefix}ordering-wake:{ready-${shard}}`;
  }
}
