import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { listLiveDocuments } from '../../src/app/live-documents';
import { configFrom } from '../../src/config';
import { flagEnv, redisEnv } from '../support/redis-env';
import { randomKeyPrefix, useRedisServers } from '../support/redis-harness';
import { captureLog } from '../support/redis-log-capture';
import { randomDoc, startTestServer } from '../support/test-server';
import { TestClient } from '../support/ws-client';

/**
 * `flow docs` lists the live documents of the whole cluster: a scan of one
 * node (redis-cli -p 7001 --scan) sees only the documents of its slots.
 */
const servers = useRedisServers();
const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '../..');

describe('flow docs on a Redis Cluster', () => {
  it('lists every live document, over every master, with its seq', async () => {
    const vars = {
      ...redisEnv(servers.addresses, 'cluster'),
      ...flagEnv({ websockets: true, collaboration: true, eventOrdering: false }),
      REDIS_KEY_PREFIX: randomKeyPrefix(),
    };
    const server = await startTestServer(vars);
    // Enough documents that every master of three holds some (by their slots).
    const docs = Array.from({ length: 12 }, () => randomDoc('listed'));
    try {
      const client = await TestClient.connect(server.url);
      for (const doc of docs) {
        await client.request({ type: 'join', doc });
        const ops = [{ op: 'set', coll: 'c', id: 'x', value: {} }];
        await client.request({ type: 'op', doc, cseq: 1, ops });
      }
      await client.close();

      const listed = await listLiveDocuments(configFrom(vars), captureLog('silent').log);
      expect(listed.map((d) => d.doc)).toEqual([...docs].sort());
      for (const entry of listed) {
        expect(entry.seq).toBe(1);
        expect(entry.ttlSeconds).toBeGreaterThan(0);
      }

      const cli = await run(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'docs'], {
        cwd: ROOT,
        env: { PATH: process.env.PATH ?? '', ...vars },
      });
      const rows = cli.stdout.trim().split('\n');
      expect(rows[0]).toBe('document\tepoch\tseq\tttl_s');
      expect(rows.slice(1).map((row) => row.split('\t')[0])).toEqual([...docs].sort());
      expect(cli.stderr).toContain('12 live document(s)');
    } finally {
      await server.close();
    }
  }, 60_000);
});
