import { expect } from 'vitest';
import type { ServerMessage } from '../../src/protocol';
import { randomDoc } from './test-server';
import { TestClient, delay } from './ws-client';

type Sequenced = Extract<ServerMessage, { type: 'ack' | 'event' }>;

export function sequenced(client: TestClient): number[] {
  return client.messages
    .filter((m): m is Sequenced => m.type === 'ack' || m.type === 'event')
    .map((m) => m.seq as number);
}

export async function waitFor(
  check: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what} not reached within ${timeoutMs} ms`);
    await delay(20);
  }
}

async function docState(http: string, doc: string) {
  const res = await fetch(`${http}/docs/${doc}`);
  return (await res.json()) as { seq: number; epoch: string; state: unknown };
}

/**
 * The core behaviour every deployment must show, against one or more
 * gateways (clients are spread over them): one gap-free order, acks to the
 * sender and events to the others, dedupe of resends, catch-up, presence.
 */
export async function runCoreScenario(
  gateways: Array<{ url: string; http: string }>,
): Promise<void> {
  const doc = randomDoc('core');
  const at = (i: number) => gateways[i % gateways.length] as { url: string; http: string };
  const clients = await Promise.all(
    [0, 1, 2].map((i) => TestClient.connect(at(i).url, `core-${i}-${doc.slice(-6)}`)),
  );
  try {
    for (const client of clients)
      expect(await client.request({ type: 'join', doc })).toMatchObject({ type: 'joined', seq: 0 });
    const perClient = 5;
    for (let k = 1; k <= perClient; k++) {
      for (const [i, client] of clients.entries()) {
        client.send({
          type: 'op',
          doc,
          cseq: k,
          ops: [{ op: 'set', coll: 'nodes', id: `n${i}`, value: { k } }],
        });
      }
    }
    const total = perClient * clients.length;
    await waitFor(
      () => clients.every((c) => sequenced(c).length >= total),
      15_000,
      'all events delivered',
    );
    for (const client of clients) {
      expect(sequenced(client)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
      expect(client.of('ack').map((a) => a.cseq)).toEqual([1, 2, 3, 4, 5]);
    }
    // The same op at the same seq for everyone.
    const owner = new Map<number, string>();
    for (const client of clients) {
      for (const e of client.of('event')) {
        const who = `${e.client}/${e.cseq}`;
        expect(owner.get(e.seq) ?? who).toBe(who);
        owner.set(e.seq, who);
      }
    }
    const [a, b, c] = clients as [TestClient, TestClient, TestClient];
    // A resend is a duplicate and changes nothing.
    const dup = await a.request({
      type: 'op',
      doc,
      cseq: 5,
      ops: [{ op: 'set', coll: 'nodes', id: 'n0', value: { k: 99 } }],
    });
    expect(dup).toMatchObject({ type: 'ack', cseq: 5, dup: true });
    // Presence reaches the others, on any gateway.
    a.send({ type: 'presence', doc, state: { cursor: 1 } });
    await b.next((m) => m.type === 'presence' && m.state !== null);
    await c.next((m) => m.type === 'presence' && m.state !== null);
    // Catch-up: b leaves, misses two events, resumes with since and epoch.
    const epoch = (b.messages.find((m) => m.type === 'joined') as { epoch: string }).epoch;
    await b.close();
    await c.request({ type: 'op', doc, cseq: 6, ops: [{ op: 'del', coll: 'nodes', id: 'n2' }] });
    await c.request({
      type: 'op',
      doc,
      cseq: 7,
      ops: [{ op: 'patch', coll: 'nodes', id: 'n1', fields: { x: 1 } }],
    });
    const b2 = await TestClient.connect(at(1).url, `core-1-${doc.slice(-6)}`);
    clients.push(b2);
    const resumed = await b2.request({ type: 'join', doc, since: total, epoch });
    expect(resumed).toMatchObject({ type: 'joined', epoch, seq: total + 2 });
    expect((resumed as { events: Array<{ seq: number }> }).events.map((e) => e.seq)).toEqual([
      total + 1,
      total + 2,
    ]);
    // Presence null when a client disconnects.
    await a.close();
    await c.next((m) => m.type === 'presence' && m.state === null);
    const state = await docState(at(0).http, doc);
    expect(state).toMatchObject({
      seq: total + 2,
      epoch,
      state: { nodes: { n0: { k: 5 }, n1: { k: 5, x: 1 } } },
    });
  } finally {
    await Promise.all(clients.map((client) => client.close()));
  }
}
