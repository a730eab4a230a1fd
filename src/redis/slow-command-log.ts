import type { Logger } from 'pino';

export const SLOW_COMMAND_MESSAGE = 'Redis operation took longer than expected';

/** A command's slow calls after its first line are summed up over this long (ms). */
const SUMMARY_MS = 1000;

interface Burst {
  count: number;
  maxMs: number;
}

/**
 * The slow-command warning, at most two lines a second per command name: the
 * first slow call at once, then one line for the calls of the following
 * second (`count`, `maxMs`). When a process falls behind, every command it
 * sends is slow; a line for each (thousands a second) would cost the CPU it
 * is short of and bury every other line. The metric counts every call.
 */
export class SlowCommandLog {
  private readonly bursts = new Map<string, Burst>();

  constructor(
    private readonly log: Logger,
    private readonly thresholdMs: number,
  ) {}

  note(command: string, ms: number): void {
    const burst = this.bursts.get(command);
    if (burst) {
      burst.count++;
      burst.maxMs = Math.max(burst.maxMs, ms);
      return;
    }
    this.log.warn({ command, ms, thresholdMs: this.thresholdMs }, SLOW_COMMAND_MESSAGE);
    this.bursts.set(command, { count: 0, maxMs: 0 });
    setTimeout(() => this.summarize(command), SUMMARY_MS).unref();
  }

  private summarize(command: string): void {
    const burst = this.bursts.get(command);
    this.bursts.delete(command);
    if (!burst || burst.count === 0) return;
    this.log.warn(
      {
        command,
        count: burst.count,
        maxMs: burst.maxMs,
        withinMs: SUMMARY_MS,
        thresholdMs: this.thresholdMs,
      },
      SLOW_COMMAND_MESSAGE,
    );
  }
}
