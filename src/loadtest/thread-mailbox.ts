import { Worker } from 'node:worker_threads';

/**
 * Starts a worker thread from `file`. From the sources (tests, tsx) the
 * thread does not inherit the TypeScript loader, so tsx's is registered in
 * it first.
 */
export function spawnThread(file: string, workerData: unknown): Worker {
  if (!file.endsWith('.ts')) return new Worker(file, { workerData });
  const tsx = require.resolve('tsx/cjs');
  return new Worker(`require(${JSON.stringify(tsx)}); require(${JSON.stringify(file)});`, {
    eval: true,
    workerData,
    execArgv: [],
  });
}

/** What a thread sends when it cannot go on. */
interface Failed {
  type: 'failed';
  thread: number;
  error: string;
}

/**
 * The messages of one worker thread, awaited by type: a message that
 * arrives before anyone waits for it is kept; a thread that fails, errors
 * or exits early rejects every wait with the reason.
 */
export class ThreadMailbox<M extends { type: string }> {
  private readonly inbox = new Map<string, M>();
  private readonly waiters = new Map<string, (message: M) => void>();
  private readonly failWaiters = new Set<(err: Error) => void>();
  private failure: Error | null = null;
  private finished = false;

  /** `intercept` sees every message first; true means it took it (progress ticks). */
  constructor(
    readonly worker: Worker,
    thread: number,
    intercept: (message: M) => boolean = () => false,
  ) {
    worker.on('message', (message: M | Failed) => {
      if (message.type === 'failed') {
        const failed = message as Failed;
        this.fail(new Error(`generator thread ${failed.thread}: ${failed.error}`));
        return;
      }
      if (intercept(message as M)) return;
      const waiter = this.waiters.get(message.type);
      if (waiter) {
        this.waiters.delete(message.type);
        waiter(message as M);
      } else this.inbox.set(message.type, message as M);
    });
    worker.on('error', (err) => this.fail(err));
    worker.on('exit', (code) => {
      if (!this.finished)
        this.fail(new Error(`generator thread ${thread} exited with code ${code}`));
    });
  }

  wait<T extends M['type']>(type: T, timeoutMs: number): Promise<Extract<M, { type: T }>> {
    return new Promise((resolve, reject) => {
      if (this.failure) {
        reject(this.failure);
        return;
      }
      const got = this.inbox.get(type);
      if (got) {
        this.inbox.delete(type);
        resolve(got as Extract<M, { type: T }>);
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
        resolve(message as Extract<M, { type: T }>);
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
