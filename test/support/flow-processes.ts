import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');

/** A Flow process (gateway or worker) started from source, as pm2 would start it. */
export interface FlowChild {
  role: string;
  child: ChildProcess;
  /** The gateway's port (0 for a worker). */
  port: number;
  url: string;
  http: string;
  /** Every line it printed, stdout and stderr. */
  lines: string[];
  exited: Promise<number | null>;
  kill(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Starts `flow <role>` with `env` and waits until it serves (gateway) or consumes (worker). */
export async function startFlowChild(
  role: 'all' | 'gateway' | 'worker',
  env: Record<string, string>,
  timeoutMs = 20_000,
): Promise<FlowChild> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', role], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      HOST: '127.0.0.1',
      PORT: '0',
      LOG_LEVEL: 'info',
      // Tests run in parallel: none shares the default embedded store's directory.
      DOCUMENT_STORE: 'none',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => {
      // Nobody else holds this child yet: left alone it would outlive the test.
      child.kill('SIGKILL');
      reject(new Error(`flow ${role} did not start within ${timeoutMs} ms:\n${lines.join('\n')}`));
    }, timeoutMs);
    const onLine = (line: string) => {
      lines.push(line);
      try {
        const entry = JSON.parse(line) as { msg?: string; port?: number };
        if (
          role !== 'worker' &&
          typeof entry.port === 'number' &&
          entry.msg?.includes('listening')
        ) {
          clearTimeout(timer);
          resolve(entry.port);
        }
        if (role === 'worker' && entry.msg === 'ordering worker started') {
          clearTimeout(timer);
          resolve(0);
        }
      } catch {
        // Not a log line (a stack trace, say): kept in `lines`.
      }
    };
    for (const stream of [child.stdout, child.stderr]) {
      let rest = '';
      stream?.on('data', (chunk: Buffer) => {
        const text = rest + chunk.toString('utf8');
        const parts = text.split('\n');
        rest = parts.pop() ?? '';
        for (const part of parts) if (part.trim() !== '') onLine(part);
      });
    }
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`flow ${role} exited with ${code} before it started:\n${lines.join('\n')}`));
    });
  });
  return {
    role,
    child,
    port,
    url: `ws://127.0.0.1:${port}/ws`,
    http: `http://127.0.0.1:${port}`,
    lines,
    exited,
    kill: (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}
