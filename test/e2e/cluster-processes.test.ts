import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventRecord } from '../../src/protocol';
import { startFlowChild, type FlowChild } from '../support/flow-processes';
import { useRedisServers } from '../support/redis-harness';
import { flagEnv, redisEnv } from '../support/redis-env';
import { sequenced, waitFor } from '../support/scenarios';
import { randomDoc } from '../support/test-server';
import { TestClient, delay } from '../support/ws-client';

/**
 * Gateways and workers as separate processes against the 3-master cluster,
 * as pm2 runs them: one order across gateways, and a worker killed with
 * SIGKILL while ops stream in loses no acked op and applies none twice.
 */
const servers = useRedisServers();

interface Streamer {
  client: TestClient;
  sent: number;
  acked: Map<number, number | null>;
}

describe('gateways and workers as processes (Redis Cluster, BullMQ ordering)', () => {
  const children: FlowChild[] = [];
  let env: Record<string, string>;
  let gatewayA: FlowChild;
  let gatewayB: FlowChild;
  let workers: FlowChild[];

  beforeAll(async () => {
    env = {
      ...redisEnv(servers.addresses, 'cluster'),
      ...flagEnv({ websockets: true, collaboration: true, eventOrdering: true }),
      ORDERING_LEASE_MS: '1500',
      LOG_LEVEL: 'info',
    };
    const started = await Promise.all([
      startFlowChild('gateway', { ...env, NODE_ID: 'gw-a' }),
      startFlowChild('gateway', { ...env, NODE_ID: 'gw-b' }),
      startFlowChild('worker', { ...env, NODE_ID: 'wk-1' }),
      startFlowChild('worker', { ...env, NODE_ID: 'wk-2' }),
    ]);
    children.push(...started);
    [gatewayA, gatewayB, ...workers] = started as [FlowChild, FlowChild, FlowChild, FlowChild];
  }, 60_000);

  afterAll(async () => {
    await Promise.all(children.map((c) => c.kill('SIGTERM')));
  });

  it('logs the Redis choices of the operations guide at start', () => {
    const text = gatewayA.lines.join('\n');
    expect(text).toContain('✅ Redis connected successfully');
    expect(text).toContain('✅ [RedisDI] Using Redis WebSocket Manager');
    expect(text).toContain('✅ [RedisDI] Using Redis Collaboration Service');
    expect(text).toContain('✅ [RedisDI] Using Redis Event Ordering Service');
  });

  it('kill -9 of a worker while ops stream in: every op acked, applied once, in per-client order, one order for all', async () => {
    const doc = randomDoc('crash');
    const streamers: Streamer[] = [];
    for (let i = 0; i < 4; i++) {
      const gateway = i % 2 === 0 ? gatewayA : gatewayB;
      const client = await TestClient.connect(gateway.url, `streamer-${i}`);
      await client.request({ type: 'join', doc });
      streamers.push({ client, sent: 0, acked: new Map() });
    }
    for (const s of streamers) {
      s.client.ws.on('message', (data) => {
        const m = JSON.parse(String(data)) as { type: string; cseq?: number; seq?: number | null };
        if (m.type === 'ack' && m.cseq !== undefined && !s.acked.has(m.cseq))
          s.acked.set(m.cseq, m.seq ?? null);
      });
    }
    const perClient = 120;
    const window = 4;
    const pump = async (s: Streamer, index: number) => {
      while (s.sent < perClient) {
        while (s.sent - s.acked.size >= window) await delay(2);
        s.sent++;
        s.client.send({
          type: 'op',
          doc,
          cseq: s.sent,
          ops: [{ op: 'set', coll: 'c', id: `e${index}`, value: { n: s.sent } }],
        });
        await delay(3);
      }
    };
    const pumping = Promise.all(streamers.map((s, i) => pump(s, i)));
    await waitFor(() => streamers.every((s) => s.acked.size > 20), 20_000, 'ops flowing');
    // Kill the worker that holds the document right now.
    const redis = new Cluster(servers.addresses.cluster);
    const holder = await redis.get(`${env.REDIS_KEY_PREFIX}claim:{${doc}}`);
    redis.disconnect();
    expect(holder).toMatch(/^wk-[12]:/);
    const victim = workers.find((w) =>
      holder?.startsWith(`${w === workers[0] ? 'wk-1' : 'wk-2'}:`),
    ) as FlowChild;
    await victim.kill('SIGKILL');
    await pumping;
    await waitFor(
      () => streamers.every((s) => s.acked.size === perClient),
      30_000,
      'every op acked',
    );

    const total = perClient * streamers.length;
    const reader = await TestClient.connect(gatewayB.url);
    const snapshot = (await reader.request({ type: 'join', doc })) as {
      epoch: string;
      seq: number;
      state: unknown;
    };
    const history = (await reader.request({
      type: 'join',
      doc,
      since: 0,
      epoch: snapshot.epoch,
    })) as { events: EventRecord[] };
    await reader.close();
    // Applied exactly once: one seq per op message, no more.
    expect(snapshot.seq).toBe(total);
    expect(history.events.map((e) => e.seq)).toEqual(
      Array.from({ length: total }, (_, i) => i + 1),
    );
    const seen = new Set(history.events.map((e) => `${e.client}/${e.cseq}`));
    expect(seen.size).toBe(total);
    // Per-client order: each client's cseqs appear in increasing seq order.
    for (let i = 0; i < streamers.length; i++) {
      const cseqs = history.events.filter((e) => e.client === `streamer-${i}`).map((e) => e.cseq);
      expect(cseqs).toEqual(Array.from({ length: perClient }, (_, k) => k + 1));
    }
    // Every ack names the seq its op became.
    const seqOf = new Map(history.events.map((e) => [`${e.client}/${e.cseq}`, e.seq]));
    for (const [i, s] of streamers.entries()) {
      for (const [cseq, seq] of s.acked) {
        if (seq !== null) expect(seq).toBe(seqOf.get(`streamer-${i}/${cseq}`));
      }
    }
    // Every client saw one gap-free sequence, the same on both gateways.
    for (const s of streamers)
      expect(sequenced(s.client)).toEqual(Array.from({ length: total }, (_, k) => k + 1));
    expect(snapshot.state).toEqual({
      c: Object.fromEntries(streamers.map((_, i) => [`e${i}`, { n: perClient }])),
    });
    await Promise.all(streamers.map((s) => s.client.close()));
  }, 90_000);

  it('announces presence null for the clients of a gateway killed with SIGKILL', async () => {
    const doc = randomDoc('presence-crash');
    const doomed = await startFlowChild('gateway', { ...env, NODE_ID: 'gw-doomed' });
    children.push(doomed);
    const watcher = await TestClient.connect(gatewayA.url, 'watcher');
    await watcher.request({ type: 'join', doc });
    const victim = await TestClient.connect(doomed.url, 'on-doomed-gateway');
    await victim.request({ type: 'join', doc, presence: { name: 'soon gone' } });
    await watcher.next(
      (m) => m.type === 'presence' && m.client === 'on-doomed-gateway' && m.state !== null,
    );
    await doomed.kill('SIGKILL');
    const gone = await watcher.next(
      (m) => m.type === 'presence' && m.client === 'on-doomed-gateway' && m.state === null,
      30_000,
    );
    expect(gone).toMatchObject({ doc, state: null });
    await watcher.close();
  }, 60_000);
});
