import { UnavailableError } from '../../protocol';
import type { OpSubmission } from '../../document/op-submission';
import type { BatchProcessor, EventOrderingService } from './event-ordering-service';

interface DocumentQueue {
  waiting: OpSubmission[];
  /** The drain loop of this document while it runs: at most one per document. */
  draining: Promise<void> | null;
}

/**
 * One FIFO per document inside this process. A document's drain loop takes
 * what has queued up (up to `batchMax`) and hands it to the processor; calls
 * for one document never overlap, so the order of `submit` is the order of
 * apply. Serves one process only: two processes would each order their own.
 */
export class MemoryEventOrderingService implements EventOrderingService {
  readonly mode = 'memory' as const;
  private readonly queues = new Map<string, DocumentQueue>();
  private closing = false;

  constructor(
    private readonly processor: BatchProcessor,
    private readonly batchMax: number,
    private readonly onError: (err: unknown, doc: string) => void,
  ) {}

  async submit(submission: OpSubmission): Promise<void> {
    if (this.closing)
      throw new UnavailableError('the server is shutting down; resend the op to another gateway');
    let queue = this.queues.get(submission.doc);
    if (!queue) {
      queue = { waiting: [], draining: null };
      this.queues.set(submission.doc, queue);
    }
    queue.waiting.push(submission);
    // setImmediate rather than a microtask: every frame read in this I/O turn
    // joins the batch first, which is what makes batching pay.
    queue.draining ??= new Promise((resolve) => setImmediate(resolve)).then(() =>
      this.drain(submission.doc, queue),
    );
  }

  private async drain(doc: string, queue: DocumentQueue): Promise<void> {
    while (queue.waiting.length > 0) {
      const batch = queue.waiting.splice(0, this.batchMax);
      try {
        await this.processor(doc, batch);
      } catch (err) {
        this.onError(err, doc);
      }
    }
    queue.draining = null;
    this.queues.delete(doc);
  }

  /** Depth of every non-empty document queue, for metrics. */
  depth(): number {
    let total = 0;
    for (const queue of this.queues.values()) total += queue.waiting.length;
    return total;
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all([...this.queues.values()].map((q) => q.draining));
  }
}
