import { createHash } from 'node:crypto';

/**
 * Names of the ordering layer: per-document BullMQ queues and the ready sets
 * that let workers find documents with work without scanning every queue.
 *
 * | key / name                              | type    | holds                                        |
 * | --------------------------------------- | ------- | -------------------------------------------- |
 * | BullMQ queue `{D}` under prefix `flow:q` | BullMQ | the document's op batches (wait list, jobs)   |
 * | `flow:claim:{D}`                        | string  | owner of the document's processing lease      |
 * | `flow:ready:{ready-<n>}`                | zset    | doc -> time first marked; shard n of READY_SHARDS |
 * | `flow:ordering-wake:{ready-<n>}`        | channel | doc ids of shard n that just became ready      |
 */
export const READY_SHARDS = 16;

export class OrderingKeys {
  constructor(readonly prefix: string) {}

  /** BullMQ prefix: its keys are `<prefix>q:<queue>:<suffix>`. */
  get queuePrefix(): string {
    return `${this.prefix}q`;
  }

  /**
   * The queue name of a document. BullMQ names may not contain `:`, which
   * document ids may; `~` (never in a document id) stands for it. The hash
   * tag keeps every key of one queue in one cluster slot.
   */
  queueName(doc: string): string {
    return `{${doc.replaceAll(':', '~')}}`;
  }

  claim(doc: string): string {
    return `${this.prefix}claim:{${doc}}`;
  }

  shardOf(doc: string): number {
    return createHash('md5').update(doc).digest().readUInt16BE(0) % READY_SHARDS;
  }

  ready(shard: number): string {
    return `${this.prefix}ready:{ready-${shard}}`;
  }

  wakeChannel(shard: number): string {
    return `${this.prefix}ordering-wake:{ready-${shard}}`;
  }
}
