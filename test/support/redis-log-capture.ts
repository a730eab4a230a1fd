import pino from 'pino';
import type { Logger } from 'pino';

export interface LogLine {
  level: number;
  msg: string;
  [field: string]: unknown;
}

/** A pino logger that keeps its lines in memory, for tests that assert what operators see. */
export function captureLog(level: pino.LevelWithSilent = 'debug'): {
  log: Logger;
  lines: LogLine[];
} {
  const lines: LogLine[] = [];
  const log = pino(
    { level },
    { write: (chunk: string) => void lines.push(JSON.parse(chunk) as LogLine) },
  );
  return { log, lines };
}

/** Waits until a line with this message (or matching it) is logged. */
export async function waitForLine(
  lines: LogLine[],
  msg: string | RegExp,
  timeoutMs = 5_000,
): Promise<LogLine> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const line = lines.find((l) => (typeof msg === 'string' ? l.msg === msg : msg.test(l.msg)));
    if (line) return line;
    if (Date.now() > deadline) {
      throw new Error(
        `no log line ${String(msg)} within ${timeoutMs} ms; got:\n${lines.map((l) => l.msg).join('\n')}`,
      );
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}
