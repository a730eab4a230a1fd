import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { RedisResources } from '../../src/redis/resources';
import type { WebSocketManager } from '../../src/services/websocket-manager/websocket-manager';
import type { DocumentBroadcast } from '../../src/protocol/cluster-messages';
import { MemoryWebSocketManager } from '../../src/services/websocket-manager/websocket-manager.memory';
import { RedisWebSocketManager } from '../../src/services/websocket-manager/websocket-manager.redis';
import { randomDocId, redisTestConfig, useRedisServers } from '../support/redis-harness';
import { waitFor } from '../support/scenarios';

/**
 * One behaviour suite for the WebSocket manager, run against memory, a
 * single Redis and a 3-master cluster (sharded pub/sub). In Redis mode two
 * managers stand for two gateway processes.
 */
const servers = useRedisServers();
const log = pino({ level: 'silent' });
const opened: Array<{ close(): Promise<void> }> = [];
afterAll(async () => {
  for (const item of opened.reverse()) await item.close();
});

interface Pair {
  a: WebSocketManager;
  b: WebSocketManager;
}

const backends: Array<{ name: string; pair(): Promise<Pair> }> = [
  {
    name: 'memory',
    pair: async () => {
      const manager = new MemoryWebSocketManager();
      return { a: manager, b: manager };
    },
  },
  ...(['single', 'cluster'] as const).map((target) => ({
    name: `redis ${target}`,
    pair: async () => {
      const { single, cluster } = servers.addresses;
      const config = redisTestConfig(target === 'single' ? single : cluster);
      const make = () => {
        const redis = new RedisResources(config, log);
        const manager = new RedisWebSocketManager({
          client: redis.commands,
          subscriber: redis.subscriber,
          sharded: redis.sharded,
          channelOf: (doc) => redis.keys.doc(doc).channel,
          registryKey: redis.keys.nodes(),
          staleAfterMs: 10_000,
          log,
        });
        opened.push(redis, manager);
        return manager;
      };
      return { a: make(), b: make() };
    },
  })),
];

const outcome = (doc: string, seq: number): DocumentBroadcast => ({
  kind: 'outcomes',
  doc,
  outcomes: [{ kind: 'applied', doc, epoch: 'e', seq, client: 'c', cseq: seq, ops: [] }],
});

describe.each(backends)('WebSocketManager ($name)', (backend) => {
  it('delivers a document broadcast to the subscriber, in publish order', async () => {
    const { a, b } = await backend.pair();
    const doc = randomDocId();
    const seen: number[] = [];
    await b.subscribe(doc, (m) => {
      if (m.kind === 'outcomes')
        for (const o of m.outcomes) if (o.kind === 'applied') seen.push(o.seq);
    });
    for (let seq = 1; seq <= 50; seq++) await a.publish(outcome(doc, seq));
    await waitFor(() => seen.length === 50, 5000, 'all broadcasts');
    expect(seen).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
  });

  it('delivers nothing after unsubscribe and nothing of other documents', async () => {
    const { a, b } = await backend.pair();
    const doc = randomDocId();
    const other = randomDocId();
    const seen: string[] = [];
    await b.subscribe(doc, (m) => seen.push(m.doc));
    await a.publish(outcome(other, 1));
    await a.publish(outcome(doc, 1));
    await waitFor(() => seen.length === 1, 5000, 'one broadcast');
    await b.unsubscribe(doc);
    await a.publish(outcome(doc, 2));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(seen).toEqual([doc]);
  });

  it('carries presence with its origin', async () => {
    const { a, b } = await backend.pair();
    const doc = randomDocId();
    const seen: DocumentBroadcast[] = [];
    await b.subscribe(doc, (m) => seen.push(m));
    const presence: DocumentBroadcast = {
      kind: 'presence',
      doc,
      origin: 'node-a',
      client: 'c1',
      user: null,
      state: { x: 1 },
    };
    await a.publish(presence);
    await waitFor(() => seen.length === 1, 5000, 'presence');
    expect(seen[0]).toEqual(presence);
  });

  it('reports the nodes that heartbeat (Redis) or only this process (memory)', async () => {
    const { a, b } = await backend.pair();
    const now = Date.now();
    await a.heartbeat({
      node: 'node-a',
      role: 'gateway',
      connections: 3,
      documents: 1,
      updatedAt: now,
    });
    await b.heartbeat({
      node: 'node-b',
      role: 'gateway',
      connections: 4,
      documents: 2,
      updatedAt: now,
    });
    await b.heartbeat({
      node: 'node-stale',
      role: 'gateway',
      connections: 9,
      documents: 9,
      updatedAt: now - 60_000,
    });
    const stats = await a.clusterStats();
    if (a.mode === 'memory') {
      expect(stats).toBeNull();
      return;
    }
    expect(stats?.nodes.map((n) => n.node)).toEqual(['node-a', 'node-b']);
    expect(stats?.connections).toBe(7);
  });
});
