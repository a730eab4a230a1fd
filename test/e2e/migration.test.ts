import { describe, expect, it } from 'vitest';
import { useRedisServers } from '../support/redis-harness';
import { flagEnv, redisEnv } from '../support/redis-env';
import { randomDoc, startTestServer } from '../support/test-server';
import { TestClient } from '../support/ws-client';

/**
 * The operations guide's migration, flag by flag, and its rollback, on one
 * document: from the stage where collaboration moves to Redis on, every
 * acknowledged op survives each restart, the epoch stays, seq continues and
 * resends stay duplicates; the rollback to all-memory keeps the document
 * when MEMORY_SEED_FROM_REDIS is on.
 */
const servers = useRedisServers();

const stages = [
  {
    name: 'testing: collaboration',
    flags: { websockets: false, collaboration: true, eventOrdering: false },
  },
  {
    name: 'partial: collaboration + websockets',
    flags: { websockets: true, collaboration: true, eventOrdering: false },
  },
  {
    name: 'full: all three',
    flags: { websockets: true, collaboration: true, eventOrdering: true },
  },
  {
    name: 'rollback: all in memory',
    flags: { websockets: false, collaboration: false, eventOrdering: false },
    seed: true,
  },
];

describe('staged migration and rollback', () => {
  it.each(['single', 'cluster'] as const)(
    'keeps every acknowledged op through the stages and the rollback (%s)',
    async (target) => {
      const env = redisEnv(servers.addresses, target);
      const doc = randomDoc('migrate');
      let epoch: string | undefined;
      let seq = 0;
      let cseq = 0;
      for (const stage of stages) {
        const server = await startTestServer({
          ...env,
          ...flagEnv(stage.flags),
          ...(stage.seed ? { MEMORY_SEED_FROM_REDIS: 'true' } : {}),
        });
        try {
          const client = await TestClient.connect(server.url, 'migrating-client');
          const joined = (await client.request({ type: 'join', doc })) as {
            epoch: string;
            seq: number;
            state: { nodes?: Record<string, unknown> };
          };
          expect(joined.seq, stage.name).toBe(seq);
          if (epoch !== undefined) expect(joined.epoch, stage.name).toBe(epoch);
          epoch = joined.epoch;
          expect(Object.keys(joined.state.nodes ?? {}).length, stage.name).toBe(cseq);
          if (cseq > 0) {
            // The last op of the previous stage, sent again: still a duplicate.
            const resend = await client.request({
              type: 'op',
              doc,
              cseq,
              ops: [{ op: 'del', coll: 'nodes', id: `n${cseq}` }],
            });
            expect(resend, stage.name).toMatchObject({ type: 'ack', dup: true, seq });
          }
          for (let k = 0; k < 3; k++) {
            cseq++;
            const ack = await client.request({
              type: 'op',
              doc,
              cseq,
              ops: [{ op: 'set', coll: 'nodes', id: `n${cseq}`, value: { stage: stage.name } }],
            });
            expect(ack, stage.name).toMatchObject({ type: 'ack', seq: ++seq });
          }
          await client.close();
        } finally {
          await server.close();
        }
      }
    },
  );
});
