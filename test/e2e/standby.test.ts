import { spawn } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePort } from '../support/restartable-redis';
import { waitFor } from '../support/scenarios';

const ROOT = path.resolve(__dirname, '../..');

function start(role: string, env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', role], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  for (const stream of [child.stdout, child.stderr])
    stream?.on('data', (chunk: Buffer) => lines.push(...chunk.toString().split('\n')));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, lines, exited, has: (text: string) => lines.some((l) => l.includes(text)) };
}

/**
 * pm2 runs several instances of each app. With a service in memory only one
 * process may serve: the others wait as standbys (no crash loop) and one
 * takes over when the serving process stops; a worker with in-process
 * ordering idles. This is what lets a flag change plus `pm2 restart backend`
 * work without changing the app list.
 */
describe('standby and idle processes', () => {
  it('a second all-in-memory process on the port waits, then takes over when the first stops', async () => {
    const port = String(await freePort());
    const first = start('all', { PORT: port });
    await waitFor(() => first.has('listening'), 20_000, 'first listening');
    const second = start('all', { PORT: port });
    try {
      await waitFor(
        () => second.has('standby: another process serves this configuration'),
        20_000,
        'second on standby',
      );
      first.child.kill('SIGTERM');
      expect(await first.exited).toBe(0);
      await waitFor(() => second.has('listening'), 20_000, 'second took over');
      const health = await fetch(`http://127.0.0.1:${port}/health`);
      expect(health.status).toBe(200);
    } finally {
      first.child.kill('SIGTERM');
      second.child.kill('SIGTERM');
      expect(await second.exited).toBe(0);
    }
  }, 60_000);

  it('a worker with in-process ordering idles and stops cleanly', async () => {
    const worker = start('worker', { USE_REDIS_EVENT_ORDERING: 'false' });
    try {
      await waitFor(() => worker.has('worker idle'), 20_000, 'idle line');
      // It stays up (pm2 would restart a process that exits).
      await new Promise((resolve) => setTimeout(resolve, 1500));
      expect(worker.child.exitCode).toBeNull();
    } finally {
      worker.child.kill('SIGTERM');
    }
    expect(await worker.exited).toBe(0);
  }, 30_000);
});
