import { afterEach, describe, expect, it } from 'vitest';
import type { ServerMessage } from '../../src/protocol';
import { startFlowChild, type FlowChild } from '../support/flow-processes';
import { useRedisServers } from '../support/redis-harness';
import { flagEnv, redisEnv } from '../support/redis-env';
import { randomDoc } from '../support/test-server';
import { TestClient, delay } from '../support/ws-client';

/**
 * A gateway whose last member of a document leaves drops the document when
 * nobody edited it. With BullMQ ordering, a member on another gateway may
 * have sent ops that still wait in the queue: the document must keep its
 * epoch for them, or they are applied in a new one under a member that
 * joined the old one (the ack then skips seqs it never saw).
 */
const servers = useRedisServers();
/** The hub's linger after the last member left, plus room for the drop. */
const AFTER_LINGER_MS = 3000;

describe('a blank document left on one gateway while another member has ops queued', () => {
  const children: FlowChild[] = [];
  afterEach(async () => {
    await Promise.all(children.splice(0).map((child) => child.kill('SIGKILL')));
  });

  it('keeps its epoch: the queued op is acked at seq 1 of the epoch its sender joined', async () => {
    const env = {
      ...redisEnv(servers.addresses, 'cluster'),
      ...flagEnv({ websockets: true, collaboration: true, eventOrdering: true }),
    };
    const [one, two] = await Promise.all([
      startFlowChild('gateway', { ...env, NODE_ID: 'gw-1' }),
      startFlowChild('gateway', { ...env, NODE_ID: 'gw-2' }),
    ]);
    children.push(one, two);
    const doc = randomDoc('blank');
    const alice = await TestClient.connect(one.url);
    const joined = await alice.request({ type: 'join', doc });
    expect(joined).toMatchObject({ type: 'joined', seq: 0 });
    const epoch = (joined as Extract<ServerMessage, { type: 'joined' }>).epoch;

    // Bob joins through the other gateway and leaves: that gateway's feed lingers, then goes.
    // He does the same with a document nobody sends to, which shows the drop ran meanwhile.
    const bob = await TestClient.connect(two.url);
    const unused = randomDoc('blank');
    for (const left of [doc, unused]) {
      await bob.request({ type: 'join', doc: left });
      await bob.request({ type: 'leave', doc: left });
    }
    // No worker runs yet: Alice's op waits in the document's queue past the linger.
    alice.send({
      type: 'op',
      doc,
      cseq: 1,
      ops: [{ op: 'set', coll: 'nodes', id: 'n1', value: {} }],
    });
    await delay(AFTER_LINGER_MS);
    expect((await fetch(`${two.http}/docs/${unused}`)).status).toBe(404);

    children.push(await startFlowChild('worker', { ...env, NODE_ID: 'wk-1' }));
    const answer = await alice.next((m) => m.type === 'ack' || m.type === 'joined', 10_000);
    expect(answer).toMatchObject({ type: 'ack', doc, cseq: 1, seq: 1 });
    const server = (await (await fetch(`${one.http}/docs/${doc}`)).json()) as { epoch: string };
    expect(server.epoch).toBe(epoch);
    await Promise.all([alice.close(), bob.close()]);
  }, 60_000);
});
