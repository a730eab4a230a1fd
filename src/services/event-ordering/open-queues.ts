import type { Queue } from 'bullmq';
import type { Cluster, Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { OrderingKeys } from '../../redis/ordering-keys';
import { openDocumentQueue } from './document-queue';
import { MetaWrites } from './meta-writes';
import { sharedQueueBackend, type SharedQueueBackend } from './queue-backend';

/** Queue objects kept for recently active documents. */
const QUEUE_CACHE_SIZE = 2000;

/**
 * The BullMQ queues a gateway keeps open: those of its most recently active
 * documents, least recently used closed first, all on one shared backend
 * (sharedQueueBackend), each writing its meta hash only when MetaWrites says.
 */
export class OpenQueues {
  private readonly queues = new Map<string, Queue>();
  private readonly backend: SharedQueueBackend;
  private readonly metaWrites: MetaWrites;

  constructor(
    private readonly client: Redis | Cluster,
    private readonly keys: OrderingKeys,
    private readonly log: Logger,
    keyTtlSeconds: number,
    private readonly size = QUEUE_CACHE_SIZE,
  ) {
    this.backend = sharedQueueBackend(client, keys.queueName);
    this.metaWrites = new MetaWrites(keyTtlSeconds);
  }

  get(doc: string): Queue {
    let queue = this.queues.get(doc);
    if (queue) {
      // Re-insert: Map order doubles as least-recently-used order.
      this.queues.delete(doc);
      this.queues.set(doc, queue);
      return queue;
    }
    queue = openDocumentQueue(this.client, this.keys, doc, this.log, {
      backend: this.backend.factory,
      writeMeta: this.metaWrites.due(doc, Date.now()),
    });
    this.queues.set(doc, queue);
    if (this.queues.size > this.size) {
      const [oldestDoc, oldest] = this.queues.entries().next().value as [string, Queue];
      this.queues.delete(oldestDoc);
      void oldest.close().catch(() => undefined);
    }
    return queue;
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.queues.values()].map((q) => q.close()));
    this.queues.clear();
    await this.backend.close();
  }
}
