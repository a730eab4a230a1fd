import { expect } from 'vitest';
import type { ServerMessage } from '../../src/protocol';
import type { TestClient } from './ws-client';

/** Tests of documents kept in a store: edits through a gateway, and what the store says. */

export type Joined = Extract<ServerMessage, { type: 'joined' }>;

export const setNode = (id: string, value: Record<string, unknown>) => ({
  op: 'set',
  coll: 'nodes',
  id,
  value,
});

/** Sends `count` ops to `doc` and resolves with the seq of the last ack. */
export async function edit(client: TestClient, doc: string, firstCseq: number, count: number) {
  let seq = 0;
  for (let k = 0; k < count; k++) {
    const cseq = firstCseq + k;
    const ack = await client.request({
      type: 'op',
      doc,
      cseq,
      ops: [setNode(`n${cseq}`, { cseq })],
    });
    expect(ack).toMatchObject({ type: 'ack', cseq });
    seq = (ack as { seq: number }).seq;
  }
  return seq;
}

/** Matches a `saved` that covers `seq`. */
export const savedAt = (seq: number) => (m: ServerMessage) => m.type === 'saved' && m.seq >= seq;

/** GET /docs/:doc: its status and body. */
export async function readDoc(http: string, doc: string) {
  const res = await fetch(`${http}/docs/${doc}`);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}
