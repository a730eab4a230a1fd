import { spawn } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(__dirname, '../..');

function flow(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], {
      cwd: ROOT,
      // Nothing here may start a server; a wrong answer would, on a port of its own.
      env: { ...process.env, PORT: '0', LOG_LEVEL: 'silent', ...env },
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
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

describe('flow', () => {
  it.each(['--help', '-h', 'help'])(
    '%s prints the commands on stdout and exits 0',
    async (arg) => {
      const { code, out, err } = await flow([arg]);
      expect({ code, err }).toEqual({ code: 0, err: '' });
      expect(out).toMatch(/^usage: flow <all\|gateway\|worker\|/);
    },
    20_000,
  );

  it('names an unknown command, prints the commands on stderr, and exits 2', async () => {
    const { code, out, err } = await flow(['gatway']);
    expect({ code, out }).toEqual({ code: 2, out: '' });
    expect(err).toMatch(/^flow: unknown command "gatway"\nusage: flow </);
  }, 20_000);
});

describe('flow docs and flow queues with no Redis answering', () => {
  // A port of this test's own where nothing listens.
  const env = { REDIS_HOST: '127.0.0.1', REDIS_PORT: '1' };

  it.concurrent.each(['docs', 'queues', 'queues some-document'])(
    'flow %s says so within seconds and exits 1',
    async (command) => {
      const started = Date.now();
      const { code, err } = await flow(command.split(' '), env);
      expect({ code, seconds: Math.round((Date.now() - started) / 1000) <= 12 }).toEqual({
        code: 1,
        seconds: true,
      });
      expect(err).toMatch(
        /^flow: cannot .* in Redis at 127\.0\.0\.1:1: no answer from Redis within 5 s/,
      );
    },
    25_000,
  );
});
