import path from 'node:path';
import type { Worker } from 'node:worker_threads';
import { spawnThread, ThreadMailbox } from './thread-mailbox';
import {
  COUNTER_SLOTS,
  type FromThread,
  type GeneratorInput,
  type ToThread,
} from './thread-protocol';

type MessageOf<T extends FromThread['type']> = Extract<FromThread, { type: T }>;

/** The coordinator's handle on one generator thread: its counters and its messages, awaited by type. */
export class ThreadHandle {
  readonly worker: Worker;
  readonly counters: Float64Array;
  /** The latest progress figures the thread sent. */
  lastTick: MessageOf<'tick'> | null = null;
  private readonly mailbox: ThreadMailbox<FromThread>;

  constructor(input: Omit<GeneratorInput, 'counters'>) {
    const counters = new SharedArrayBuffer(COUNTER_SLOTS * Float64Array.BYTES_PER_ELEMENT);
    this.counters = new Float64Array(counters);
    const workerData: GeneratorInput = { ...input, counters };
    this.worker = spawnThread(
      path.join(__dirname, `generator-thread${path.extname(__filename)}`),
      workerData,
    );
    this.mailbox = new ThreadMailbox<FromThread>(this.worker, input.thread, (message) => {
      if (message.type !== 'tick') return false;
      this.lastTick = message;
      return true;
    });
  }

  send(message: ToThread): void {
    this.worker.postMessage(message);
  }

  wait<T extends FromThread['type']>(type: T, timeoutMs: number): Promise<MessageOf<T>> {
    return this.mailbox.wait(type, timeoutMs);
  }

  stop(): Promise<void> {
    return this.mailbox.stop();
  }
}
