import { Redis } from 'ioredis';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RedisKeys } from '../../src/redis/keys';
import type { ApplyOutcome, OpSubmission } from '../../src/document/op-submission';
import {
  createRedisCollaborationService,
  RedisCollaborationService,
} from '../../src/services/collaboration/collaboration.redis';
import {
  randomDocId,
  randomKeyPrefix,
  redisTestConfig,
  startRedis,
  type StartedRedis,
} from '../support/redis-harness';

/**
 * A Redis that lost the last acknowledged writes of a document (a replica
 * promoted before it had them; an AOF that lost its last second) holds the
 * document at a lower seq in the same epoch. The next apply must not give the
 * lost seqs to other ops: the document moves to a new epoch, and clients
 * resync from a snapshot as on any epoch change. Simulated here by cutting
 * the history and the session's seq back, as the promoted replica has them.
 */
const quiet = pino({ level: 'silent' });
let server: StartedRedis;
let admin: Redis;
const services: RedisCollaborationService[] = [];
/** Every service of the file on one key prefix: they stand for processes of one deployment. */
const prefix = randomKeyPrefix();

beforeAll(async () => {
  server = await startRedis();
  admin = new Redis({ host: server.host, port: server.port });
});
afterAll(async () => {
  admin?.disconnect();
  await server?.stop();
});
afterEach(async () => {
  await Promise.all(services.splice(0).map((s) => s.close()));
});

function service() {
  const config = redisTestConfig(server, { REDIS_KEY_PREFIX: prefix });
  const created = createRedisCollaborationService(config, quiet, {});
  services.push(created);
  return { service: created, keys: new RedisKeys(config.redis.keyPrefix) };
}

const op = (doc: string, client: string, cseq: number): OpSubmission => ({
  doc,
  client,
  cseq,
  ops: [{ op: 'set', coll: 'nodes', id: `n${cseq}`, value: { cseq } }],
});

const applied = (outcomes: ApplyOutcome[]) => {
  const [outcome] = outcomes;
  if (outcome?.kind !== 'applied') throw new Error(`not applied: ${JSON.stringify(outcome)}`);
  return outcome;
};

/** Five ops applied and acknowledged, then the last two lost as by a failover. */
async function documentThatLostTwoOps(
  apply: (sub: OpSubmission) => Promise<ApplyOutcome[]>,
  keys: RedisKeys,
) {
  const doc = randomDocId();
  let epoch = '';
  for (let cseq = 1; cseq <= 5; cseq++) epoch = applied(await apply(op(doc, 'a', cseq))).epoch;
  const k = keys.doc(doc);
  await admin.xdel(k.history, '0-4', '0-5');
  await admin.call('XSETID', k.history, '0-3');
  await admin.hset(k.session, 'seq', '3');
  await admin.hset(k.dedupe, 'a', '3 3');
  await admin.hdel(k.state, 'nodes/n4', 'nodes/n5');
  return { doc, epoch };
}

describe('a document whose history went back', () => {
  it('moves to a new epoch in the process that saw the lost acks, before giving their seqs away', async () => {
    const { service: s, keys } = service();
    const { doc, epoch } = await documentThatLostTwoOps(
      (sub) => s.applyBatch(sub.doc, [sub]),
      keys,
    );
    const next = applied(await s.applyBatch(doc, [op(doc, 'b', 1)]));
    expect(next.epoch).not.toBe(epoch);
    expect(next.seq).toBe(4);
    // Clients that knew the old epoch get a snapshot, which holds what survived.
    const catchUp = await s.open(doc, { epoch, seq: 5 });
    expect(catchUp.kind).toBe('snapshot');
    if (catchUp.kind === 'snapshot') {
      expect(catchUp.snapshot.epoch).toBe(next.epoch);
      expect(Object.keys(catchUp.snapshot.state.nodes ?? {}).sort()).toEqual(['n1', 'n2', 'n3']);
    }
    // The new epoch goes on normally.
    const after = applied(await s.applyBatch(doc, [op(doc, 'b', 2)]));
    expect(after).toMatchObject({ epoch: next.epoch, seq: 5 });
  });

  it('moves in a process that never saw the document, from what the submitting gateway saw', async () => {
    const { service: first, keys } = service();
    const { doc, epoch } = await documentThatLostTwoOps(
      (sub) => first.applyBatch(sub.doc, [sub]),
      keys,
    );
    const { service: other } = service();
    const next = applied(
      await other.applyBatch(doc, [{ ...op(doc, 'b', 1), seen: { epoch, seq: 5 } }]),
    );
    expect(next.epoch).not.toBe(epoch);
    expect(next.seq).toBe(4);
  });

  it('stays in its epoch when nothing acknowledged is missing', async () => {
    const { service: s } = service();
    const doc = randomDocId();
    const first = applied(await s.applyBatch(doc, [op(doc, 'a', 1)]));
    const { service: other } = service();
    const second = applied(
      await other.applyBatch(doc, [{ ...op(doc, 'b', 1), seen: { epoch: first.epoch, seq: 1 } }]),
    );
    const third = applied(await s.applyBatch(doc, [op(doc, 'a', 2)]));
    expect([second.epoch, third.epoch]).toEqual([first.epoch, first.epoch]);
    expect([second.seq, third.seq]).toEqual([2, 3]);
  });
});
