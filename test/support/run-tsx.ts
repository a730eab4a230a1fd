import { spawn } from 'node:child_process';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');

export interface ScriptRun {
  code: number;
  out: string;
  err: string;
}

/**
 * Runs one of the project's TypeScript entry points through tsx (the way its
 * docs show) and collects its output. A script that went on to start
 * servers instead of answering is killed after `timeoutMs` with its whole
 * process group (Redis and Flow processes included): its run ends with
 * code -1.
 */
export function runTsx(
  script: string,
  args: string[],
  { env = {}, timeoutMs = 15_000 }: { env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<ScriptRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      detached: true,
    });
    const timer = setTimeout(() => {
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
    }, timeoutMs);
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += String(chunk)));
    child.stderr.on('data', (chunk: Buffer) => (err += String(chunk)));
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, out, err });
    });
  });
}
