import pino from 'pino';
import { FlowClient, type DocumentHandle } from '../../../src/client';
import type { Op } from '../../../src/protocol';
import { configFrom } from '../../../src/config';
import { createRedisCollaborationService } from '../../../src/services/collaboration/collaboration.redis';
import { randomKeyPrefix, type RedisEndpoint } from '../../support/redis-harness';
import { TcpProxy } from '../../support/tcp-proxy';
import { startTestServer } from '../../support/test-server';
import { delay } from '../../support/ws-client';
import { checkReplica, checkSubmits, type ServerDocument } from './oracle';
import { pick, seededRandom } from './random';
import { SubmitLog } from './submit-log';

export interface SimulationOptions {
  redis: RedisEndpoint;
  seed: number;
  /** How long ops and faults run, before the faults heal and the oracle checks. */
  seconds: number;
  clients: number;
  docs: number;
  /** Gateway processes (in this process), clients spread over them. Default 1. */
  gateways?: number;
  /** `queue`: BullMQ ordering, each gateway process also running a worker. Default `process`. */
  ordering?: 'process' | 'queue';
}

export interface SimulationReport {
  submits: number;
  outcomes: Record<string, number>;
  faults: Record<string, number>;
  checks: number;
  findings: string[];
}

type Server = Awaited<ReturnType<typeof startTestServer>>;

/** One gateway process with its own link to Redis, which the faults cut. */
interface Gateway {
  server: Server;
  redisLink: TcpProxy;
  env: Record<string, string>;
}

/**
 * Several SDK clients edit a few documents at random through one or more
 * gateways (Redis for fan-out and state; in-process or BullMQ ordering) while
 * faults are scheduled from the seed: client links cut, a gateway's own Redis
 * link cut, a gateway restarted. Then the faults heal, and an oracle compares
 * every settled submit with the server's history and every client's state
 * with the server's.
 */
export async function runSimulation(options: SimulationOptions): Promise<SimulationReport> {
  const random = seededRandom(options.seed);
  const prefix = randomKeyPrefix();
  const env = {
    REDIS_HOST: '127.0.0.1',
    REDIS_PORT: String(options.redis.port),
    REDIS_KEY_PREFIX: prefix,
    REDIS_RETRY_DELAY: '50',
    HISTORY_LENGTH: '100000',
    USE_REDIS_WEBSOCKETS: 'true',
    USE_REDIS_COLLABORATION: 'true',
    USE_REDIS_EVENT_ORDERING: String(options.ordering === 'queue'),
  };
  const gateways: Gateway[] = await Promise.all(
    Array.from({ length: options.gateways ?? 1 }, async () => {
      const redisLink = await TcpProxy.start(options.redis.port);
      const own = { ...env, REDIS_PORT: String(redisLink.port) };
      return { server: await startTestServer(own), redisLink, env: own };
    }),
  );
  const docs = Array.from({ length: options.docs }, (_, i) => `sim-${prefix.slice(10, 18)}-${i}`);
  const log = new SubmitLog();
  const faults: Record<string, number> = {};
  const count = (kind: string) => (faults[kind] = (faults[kind] ?? 0) + 1);

  const members = await Promise.all(
    Array.from({ length: options.clients }, async (_, i) => {
      const gateway = gateways[i % gateways.length] as Gateway;
      const link = await TcpProxy.start(gateway.server.port);
      const client = new FlowClient({
        url: `ws://127.0.0.1:${link.port}/ws`,
        client: `sim${options.seed}c${i}${prefix.slice(10, 16)}`,
        reconnect: { minDelayMs: 50, maxDelayMs: 400 },
        pingIntervalMs: 1000,
        pongTimeoutMs: 1000,
      });
      client.on('error', () => undefined);
      return {
        id: client.clientId,
        client,
        link,
        gateway,
        handles: new Map<string, DocumentHandle>(),
      };
    }),
  );
  const joinAll = async () => {
    for (const member of members) {
      for (const doc of docs) {
        const existing = member.client.document(doc);
        if (existing) {
          member.handles.set(doc, existing);
          continue;
        }
        try {
          member.handles.set(doc, await member.client.join(doc));
        } catch {
          // Refused for now (the gateway's Redis link is down): the next round tries again.
        }
      }
    }
  };

  let running = true;
  let counter = 0;
  const editing = (async () => {
    while (running) {
      await delay(20 + Math.floor(random() * 60));
      const member = pick(random, members);
      const doc = pick(random, docs);
      const handle = member.handles.get(doc);
      if (!handle || member.client.document(doc) !== handle) {
        void joinAll();
        continue;
      }
      const id = `n${Math.floor(random() * 5)}`;
      const n = ++counter;
      const kind = random();
      const op: Op =
        kind < 0.5
          ? { op: 'set', coll: 'nodes', id, value: { n, by: member.id } }
          : kind < 0.85
            ? { op: 'patch', coll: 'nodes', id, fields: { p: n } }
            : { op: 'del', coll: 'nodes', id };
      // A unique marker makes every submit's ops tell apart from any other's.
      const ops: Op[] = [op, { op: 'set', coll: 'marks', id: `m${n}`, value: { n } }];
      log.track(member.id, doc, ops, handle.submit(ops));
    }
  })();

  const faulting = (async () => {
    while (running) {
      await delay(400 + Math.floor(random() * 900));
      if (!running) break;
      const roll = random();
      if (roll < 0.5) {
        count('client link cut');
        pick(random, members).link.cut(Math.floor(random() * 1500));
      } else if (roll < 0.85) {
        count('gateway-Redis link cut');
        pick(random, gateways).redisLink.cut(300 + Math.floor(random() * 2200));
      } else {
        count('gateway restart');
        const gateway = pick(random, gateways);
        await gateway.server.close();
        gateway.server = await startTestServer(gateway.env);
        for (const member of members)
          if (member.gateway === gateway) member.link.retarget(gateway.server.port);
      }
    }
  })();

  await joinAll();
  await delay(options.seconds * 1000);
  running = false;
  await Promise.all([editing, faulting]);

  // Healed: every submit settles, every client is joined with nothing pending.
  const deadline = Date.now() + 30_000;
  const settled = () =>
    log.pending === 0 &&
    members.every((m) =>
      docs.every((doc) => {
        const handle = m.client.document(doc);
        return handle !== undefined && handle.joined && handle.pendingCount === 0;
      }),
    );
  while (!settled() && Date.now() < deadline) {
    await joinAll();
    await delay(200);
  }

  const reader = createRedisCollaborationService(
    configFrom({ ...env, LOG_LEVEL: 'silent' }),
    pino({ level: 'silent' }),
  );
  const servers = new Map<string, ServerDocument>();
  const findings: string[] = [];
  let checks = 0;
  try {
    for (const doc of docs) {
      const snapshot = await reader.snapshot(doc);
      if (!snapshot) continue;
      const history = (await reader.eventsAfter(doc, snapshot.epoch, 0)) ?? [];
      servers.set(doc, { ...snapshot, history });
    }
    findings.push(...checkSubmits(log.records, servers));
    checks += log.records.length;
    for (const member of members) {
      for (const doc of docs) {
        const handle = member.client.document(doc);
        const server = servers.get(doc);
        checks++;
        if (!handle || !server) findings.push(`${member.id} is not joined to ${doc}`);
        else findings.push(...checkReplica(member.id, handle, server));
      }
    }
  } finally {
    await reader.close();
    for (const member of members) {
      member.client.close();
      await member.link.close();
    }
    for (const gateway of gateways) {
      await gateway.server.close();
      await gateway.redisLink.close();
    }
  }

  const outcomes: Record<string, number> = {};
  for (const { outcome } of log.records) {
    const key = outcome.kind === 'rejected' ? outcome.code : outcome.kind;
    outcomes[key] = (outcomes[key] ?? 0) + 1;
  }
  return { submits: log.records.length, outcomes, faults, checks, findings };
}
