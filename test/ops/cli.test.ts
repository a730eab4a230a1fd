import { describe, expect, it } from 'vitest';
import { runTsx } from '../support/run-tsx';

/** `flow ...` from the sources; nothing here may start a server (a wrong answer would, on a port of its own). */
const flow = (args: string[], env: Record<string, string> = {}) =>
  runTsx('src/cli.ts', args, {
    env: { PORT: '0', LOG_LEVEL: 'silent', ...env },
    timeoutMs: 20_000,
  });

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
