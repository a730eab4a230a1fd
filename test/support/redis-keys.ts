import { Cluster, Redis } from 'ioredis';
import { expect } from 'vitest';
import type { RedisServerAddresses } from './redis-harness';

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Every key under `prefix`, on a single Redis or on every master of the cluster. */
export async function keysUnder(
  addresses: RedisServerAddresses,
  target: 'single' | 'cluster',
  prefix: string,
): Promise<string[]> {
  const pattern = `${prefix}*`;
  const scan = async (client: Redis) => {
    const found: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await client.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      found.push(...batch);
    } while (cursor !== '0');
    return found;
  };
  if (target === 'single') {
    const client = new Redis(addresses.single.port, addresses.single.host);
    try {
      return await scan(client);
    } finally {
      client.disconnect();
    }
  }
  const cluster = new Cluster(addresses.cluster);
  try {
    await new Promise((resolve) => cluster.once('ready', resolve));
    const keys = await Promise.all(cluster.nodes('master').map((node) => scan(node)));
    return keys.flat();
  } finally {
    cluster.disconnect();
  }
}

/**
 * The key layout operators see: every key of a document carries its hash
 * tag `{D}` with a real document id (PROTOCOL.md section 9); the only other
 * keys are the node registry, presence heartbeats, the ready and intent
 * sets, the single-process lease and the unsaved-document sweep's lease.
 */
export async function expectOnlyDocumentKeys(
  addresses: RedisServerAddresses,
  target: 'single' | 'cluster',
  prefix: string,
): Promise<void> {
  const p = escape(prefix);
  const docId = '[A-Za-z0-9_.:-]{1,128}';
  const allowed = [
    new RegExp(`^${p}(sessions|state|history|dedupe|presence|fence|claim|saver):\\{${docId}\\}$`),
    // A drained queue keeps only these (no job hash, no other list).
    new RegExp(`^${p}q:\\{${docId}\\}:ops:(wait|meta|events|marker|id)$`),
    new RegExp(`^${p}(ready|intents):\\{ready-\\d+\\}$`),
    new RegExp(`^${p}(nodes|presence-nodes|single-process|store-sweep)$`),
  ];
  const keys = await keysUnder(addresses, target, prefix);
  const unexpected = keys.filter((key) => !allowed.some((pattern) => pattern.test(key)));
  expect(unexpected).toEqual([]);
}
