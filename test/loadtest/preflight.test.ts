import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { USAGE } from '../../src/loadtest/options';

/**
 * A load test against a URL where no gateway listens ends at once with the
 * reason, instead of a two-minute wait for joins and a stack trace.
 */
const ROOT = path.resolve(__dirname, '../..');

async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function runLoadTest(
  args: string[],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'src/loadtest/cli.ts', ...args],
      { cwd: ROOT, timeout: 30_000 },
      (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stdout, stderr }),
    );
  });
}

describe('flow-loadtest against a URL with no gateway', () => {
  it('says so, with the URL and what to check, and exits 1 without a stack trace', async () => {
    const url = `ws://127.0.0.1:${await closedPort()}/ws`;
    const result = await runLoadTest(['--url', url, '--no-progress', '--duration', '1']);
    expect(result.code).toBe(1);
    expect(result.stderr.trim()).toBe(
      `flow-loadtest: cannot connect to ${url}: connection refused; is a gateway running there?`,
    );
    expect(result.stdout).toBe('');
  }, 40_000);

  it('says so for a server that is not a Flow gateway', async () => {
    const server = net.createServer((socket) =>
      socket.end('HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n'),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as net.AddressInfo;
    try {
      const url = `ws://127.0.0.1:${port}/ws`;
      const result = await runLoadTest(['--url', url, '--no-progress']);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`cannot connect to ${url}: the server answered HTTP 404`);
      expect(result.stderr).not.toMatch(/^\s+at /m);
    } finally {
      server.close();
    }
  }, 40_000);
});

describe('references to documents', () => {
  it('name files that exist in the repository (--help, Dockerfile)', () => {
    const texts = [USAGE, readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8')];
    const named = texts.flatMap((text) => text.match(/[\w./-]+\.md\b/g) ?? []);
    expect(named.length).toBeGreaterThan(0);
    for (const file of named) expect(existsSync(path.join(ROOT, file)), file).toBe(true);
  });
});
