import { describe, expect, it } from 'vitest';
import { configFrom } from '../../src/config';
import { startFlow } from '../../src/app/flow-process';
import { createRedis, TRACE_COMMAND_MESSAGE } from '../../src/redis';
import { captureLog, waitForLine } from '../support/redis-log-capture';
import { readDoc } from './markdown';

/**
 * What README.md and docs/*.md tell an operator matches what the product
 * does: each claim below was once false, and is checked against the code.
 */
const docs = ['README.md', 'docs/configuration.md', 'docs/operations.md'].map((file) => ({
  file,
  text: readDoc(file),
}));

describe('the words of the docs', () => {
  it('DEBUG=redis:* traces Redis commands at the default LOG_LEVEL=info, as the docs say', async () => {
    const config = configFrom({ DEBUG: 'redis:*', LOG_LEVEL: 'info', REDIS_PORT: '1' });
    const { log, lines } = captureLog('info');
    const client = createRedis(config, log, 'words', { lazyConnect: true });
    client.get('some-key').catch(() => undefined);
    await waitForLine(lines, TRACE_COMMAND_MESSAGE);
    client.disconnect();
    for (const { file, text } of docs) {
      expect(text, file).not.toMatch(/set `LOG_LEVEL=debug` as well/);
    }
  });

  it('flow worker idles, not refuses, with USE_REDIS_EVENT_ORDERING=false, as the docs say', async () => {
    const { log, lines } = captureLog('info');
    const worker = await startFlow(configFrom({ LOG_LEVEL: 'info' }), 'worker', { log });
    await worker.close();
    expect(lines.some((l) => l.msg.startsWith('worker idle'))).toBe(true);
    for (const { file, text } of docs) {
      expect(text, file).not.toMatch(/needs all three `USE_REDIS_\*` flags/);
      expect(text, file).not.toMatch(/`flow worker` needs all three flags/);
    }
  });

  it('show no command that lists one cluster node only, or pm2 logs that print nothing', () => {
    for (const { file, text } of docs) {
      // `--nostream` with the namespace prints nothing: pm2 resolves app names only there.
      expect(text, file).not.toMatch(/pm2 logs backend[^\n`]*--nostream/);
      // A scan of one node of the local cluster sees only that node's slots.
      expect(text, file).not.toMatch(/redis-cli (-c )?-p 700\d (--scan|keys|KEYS)/);
    }
  });
});
