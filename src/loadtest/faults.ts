import { spawn } from 'node:child_process';

/** `--fault "10s:kill -9 1234"`: run a shell command at a moment of the run. */
export interface FaultSpec {
  /** Seconds after the ramp-up began. */
  atS: number;
  command: string;
}

export interface FaultResult extends FaultSpec {
  /** When it actually started, seconds after the ramp-up began. */
  startedS: number;
  durationMs: number;
  /** null when killed by a signal or not started */
  exitCode: number | null;
  signal: string | null;
  /** The end of what it printed (stdout and stderr). */
  output: string;
}

const OUTPUT_KEPT = 2000;
const FAULT_TIMEOUT_MS = 60_000;

export function parseFault(text: string): FaultSpec | null {
  const match = /^\s*(\d+(?:\.\d+)?)s:([\s\S]+)$/.exec(text);
  if (!match) return null;
  const command = (match[2] as string).trim();
  return command === '' ? null : { atS: Number(match[1]), command };
}

/** Runs one fault command through /bin/sh; resolves when it exits (or after 60 s, killed). */
export function runFault(
  fault: FaultSpec,
  startedS: number,
  log: (line: string) => void,
): Promise<FaultResult> {
  log(`[fault] t=${startedS.toFixed(1)}s running: ${fault.command}`);
  const started = performance.now();
  return new Promise((resolve) => {
    let output = '';
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-OUTPUT_KEPT);
    };
    const child = spawn('/bin/sh', ['-c', fault.command], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const timer = setTimeout(() => child.kill('SIGKILL'), FAULT_TIMEOUT_MS);
    let finished = false;
    const done = (exitCode: number | null, signal: string | null) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      const durationMs = performance.now() - started;
      log(
        `[fault] t=${fault.atS}s exited ${exitCode ?? signal} after ${durationMs.toFixed(0)} ms: ${fault.command}` +
          (output.trim() ? `\n${output.trim()}` : ''),
      );
      resolve({ ...fault, startedS, durationMs, exitCode, signal, output });
    };
    child.once('error', (err) => {
      output += String(err.message);
      done(null, null);
    });
    child.once('exit', (code, signal) => done(code, signal));
  });
}
