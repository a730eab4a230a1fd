import path from 'node:path';
import { Worker } from 'node:worker_threads';
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
  private readonly inbox = new Map<string, FromThread>();
  private readonly waiters = new Map<string, (message: FromThread) => void>();
  private failure: Error | null = null;
  private readonly failWaiters = new Set<(err: Error) => void>();
  private finished = false;

  constructor(input: Omit<GeneratorInput, 'counters'>) {
    const counters = new SharedArrayBuffer(COUNTER_SLOTS * Float64Array.BYTES_PER_ELEMENT);
    this.counters = new Float64Array(counters);
    const workerData: GeneratorInput = { ...input, counters };
    const file = path.join(__dirname, `generator-thread${path.extname(__filename)}`);
    if (file.endsWith('.ts')) {
      // Running from the sources (tests, tsx): worker threads do not inherit
      // the TypeScript loader, so register tsx's in the thread first.
      const tsx = require.resolve('tsx/cjs');
      this.worker = new Worker(
        `require(${JSON.stringify(tsx)}); require(${JSON.stringify(file)});`,
        { eval: true, workerData, execArgv: [] },
      );
    } else {
      this.worker = new Worker(file, { workerData });
    }
    this.worker.on('message', (message: FromThread) => {
      if (message.type === 'failed') {
        this.fail(new Error(`generator thread ${message.thread}: ${message.error}`));
        return;
      }
      if (message.type === 'tick') {
        this.lastTick = message;
        return;
      }
      const waiter = this.waiters.get(message.type);
      if (waiter) {
        this.waiters.delete(message.type);
        waiter(message);
      } else this.inbox.set(message.type, message);
    });
    this.worker.on('error', (err) => this.fail(err));
    this.worker.on('exit', (code) => {
      if (!this.finished)
        this.fail(new Error(`generator thread ${input.thread} exited with code ${code}`));
    });
  }

  send(message: ToThread): void {
    this.worker.postMessage(message);
  }

  wait<T extends FromThread['type']>(type: T, timeoutMs: number): Promise<MessageOf<T>> {
    return new Promise((resolve, reject) => {
      if (this.failure) {
        reject(this.failure);
        return;
      }
      const got = this.inbox.get(type);
      if (got) {
        this.inbox.delete(type);
        resolve(got as MessageOf<T>);
        return;
      }
      const cleanup = () => {
        clearTimeout(timer);
        this.failWaiters.delete(onFail);
        this.waiters.delete(type);
      };
      const onFail = (err: Error) => {
        cleanup();
        reject(err);
      };
      const timer = setTimeout(
        () => onFail(new Error(`no "${type}" from a generator thread within ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.failWaiters.add(onFail);
      this.waiters.set(type, (message) => {
        cleanup();
        resolve(message as MessageOf<T>);
      });
    });
  }

  async stop(): Promise<void> {
    this.finished = true;
    await this.worker.terminate();
  }

  private fail(err: Error): void {
    this.failure ??= err;
    for (const reject of [...this.failWaiters]) reject(err);
  }
}
