import type { Logger } from 'pino';

/** One cleanup step (a service's close) may take this long before shutdown goes on without it. */
const CLOSE_STEP_LIMIT_MS = 2000;

/**
 * The cleanups of a process, run in reverse order of registration: what was
 * started last stops first. Every step runs even when one fails or hangs.
 */
export class CloseSteps {
  private readonly steps: Array<{ step: () => Promise<void>; limitMs: number }> = [];
  private closing: Promise<void> | null = null;

  constructor(private readonly log: Logger) {}

  /** `limitMs`: for a step that must wait longer, such as storing pending snapshots. */
  add(step: () => Promise<void>, limitMs = CLOSE_STEP_LIMIT_MS): void {
    this.steps.push({ step, limitMs });
  }

  /** Idempotent: a second call waits for the first. */
  close(): Promise<void> {
    return (this.closing ??= this.runAll());
  }

  private async runAll(): Promise<void> {
    for (const { step, limitMs } of this.steps.splice(0).reverse()) {
      let timer: NodeJS.Timeout | undefined;
      const limit = new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          this.log.warn({ limitMs }, 'a cleanup step did not finish in time; going on');
          resolve();
        }, limitMs);
      });
      await Promise.race([
        step().catch((err: unknown) => this.log.error({ err }, 'cleanup failed')),
        limit,
      ]);
      clearTimeout(timer);
    }
  }
}
