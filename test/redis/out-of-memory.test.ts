import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UnavailableError } from '../../src/protocol/errors';
import { ConnectionMessages } from '../../src/redis/connection-log';
import {
  createRedisCollaborationService,
  type RedisCollaborationService,
} from '../../src/services/collaboration/collaboration.redis';
import {
  randomDocId,
  redisTestConfig,
  startRedis,
  type StartedRedis,
} from '../support/redis-harness';
import { captureLog, type LogLine } from '../support/redis-log-capture';

/**
 * Redis out of memory under `noeviction`: ops are refused with UNAVAILABLE,
 * nothing is half-applied, and the log names maxmemory (the operations
 * guide's "OOM command not allowed").
 */

let server: StartedRedis;
let admin: Redis;
let service: RedisCollaborationService;
let lines: LogLine[];
let prefix: string;

beforeAll(async () => {
  server = await startRedis(['--maxmemory-policy', 'noeviction']);
  admin = new Redis({ host: server.host, port: server.port, lazyConnect: true });
  const capture = captureLog('info');
  lines = capture.lines;
  const config = redisTestConfig(server, { REDIS_MAX_RETRIES: '0' });
  prefix = config.redis.keyPrefix;
  service = createRedisCollaborationService(config, capture.log);
});
afterAll(async () => {
  await service?.close();
  admin?.disconnect();
  await server?.stop();
});

describe('Redis collaboration service when Redis is out of memory', () => {
  it('refuses the batch with UnavailableError naming maxmemory, applies none of it, and recovers', async () => {
    const doc = randomDocId();
    const set = (id: string, value: number) => ({
      op: 'set' as const,
      coll: 'c',
      id,
      value: { value },
    });
    await service.applyBatch(doc, [{ doc, client: 'a', cseq: 1, ops: [set('i1', 1)] }]);
    const before = await service.snapshot(doc);

    // Fill Redis past a 1 MB limit with a key of this test only.
    await admin.set(`${prefix}filler`, 'x'.repeat(2 * 1024 * 1024));
    await admin.config('SET', 'maxmemory', '1mb');
    try {
      const failure = await service
        .applyBatch(doc, [
          { doc, client: 'a', cseq: 2, ops: [set('i2', 2)] },
          { doc, client: 'b', cseq: 1, ops: [set('i3', 3)] },
        ])
        .catch((err: unknown) => err);
      expect(failure).toBeInstanceOf(UnavailableError);
      expect((failure as UnavailableError).code).toBe('UNAVAILABLE');
      expect((failure as Error).message).toMatch(/maxmemory/);
      expect((failure as Error).message).toMatch(/noeviction/);
      const line = lines.find((l) => l.msg === ConnectionMessages.outOfMemory);
      expect(line).toMatchObject({
        operation: 'applyBatch',
        doc,
        failure: 'out-of-memory',
        level: 50,
      });
      expect(line?.msg).toMatch(/maxmemory/);

      // Reads still work, and show that nothing of the batch was applied.
      expect(await service.snapshot(doc)).toEqual(before);
      expect(await admin.xlen(`${prefix}history:{${doc}}`)).toBe(1);
      expect(await admin.hgetall(`${prefix}dedupe:{${doc}}`)).toEqual({ a: '1 1' });
    } finally {
      await admin.config('SET', 'maxmemory', '0');
      await admin.del(`${prefix}filler`);
    }

    // The resend after recovery is applied once, with the next seq and no gap.
    const retried = await service.applyBatch(doc, [
      { doc, client: 'a', cseq: 2, ops: [set('i2', 2)] },
    ]);
    expect(retried[0]).toMatchObject({ kind: 'applied', seq: 2 });
  });
});
