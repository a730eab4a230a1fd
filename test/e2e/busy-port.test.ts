import http from 'node:http';
import type net from 'node:net';
import { describe, expect, it } from 'vitest';
import { configFrom } from '../../src/config';
import { startFlow } from '../../src/app/flow-process';
import { SingleProcessBusyError, StartupError } from '../../src/config/startup-error';
import { captureLog } from '../support/redis-log-capture';
import { startTestServer } from '../support/test-server';

/**
 * A configuration that serves one process only listens on its port
 * exclusively. When the port is taken, waiting as a standby is right only
 * behind a Flow process of the same configuration; behind anything else the
 * process must stop and say which port and variable to change.
 */
function start(port: number) {
  const config = configFrom({ HOST: '127.0.0.1', PORT: String(port), LOG_LEVEL: 'silent' });
  return startFlow(config, 'all', { log: captureLog('silent').log });
}

describe('a port already taken', () => {
  it('by another program: refused (not a standby), naming the port and PORT', async () => {
    const other = http.createServer((_req, res) => res.end('hello from another program'));
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
    const { port } = other.address() as net.AddressInfo;
    try {
      const started = start(port);
      await expect(started).rejects.toBeInstanceOf(StartupError);
      await expect(started).rejects.not.toBeInstanceOf(SingleProcessBusyError);
      await expect(started).rejects.toThrow(
        `cannot listen on 127.0.0.1:${port}: another program (it does not answer as a Flow gateway) holds the port; stop it, or set PORT to a free port`,
      );
    } finally {
      other.close();
    }
  }, 20_000);

  it('by a Flow process of the same configuration: the standby error', async () => {
    const first = await startTestServer({});
    try {
      await expect(start(first.port)).rejects.toBeInstanceOf(SingleProcessBusyError);
    } finally {
      await first.close();
    }
  }, 20_000);
});
