import { readFile } from 'node:fs/promises';
import { get as httpGet } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FlowClient, type DocumentHandle } from '../../src/client';
import type { EventRecord } from '../../src/protocol';
import { useRedisServers } from '../support/redis-harness';
import { redisEnv } from '../support/redis-env';
import { waitFor } from '../support/scenarios';
import { randomDoc } from '../support/test-server';
import { TestClient, delay } from '../support/ws-client';
import { freeTcpPort, Pm2Sandbox, type Pm2Process } from './pm2-harness';

/**
 * `pm2 reload gateway`, then `pm2 reload worker`, with the project's
 * ecosystem.config.js (2 gateways sharing one port, 2 workers) against the
 * test harness's Redis Cluster, while SDK clients stream op messages. The
 * SDK reconnects, re-joins with since/epoch and resends what was not acked;
 * the test checks that pm2 kept a gateway listening throughout, that no
 * acked op was lost or applied twice, and that every client ends with the
 * server's state.
 */
const servers = useRedisServers();

const CLIENTS = 4;
/** Op messages a client keeps unacknowledged at most. */
const WINDOW = 4;

interface Streamer {
  client: FlowClient;
  handle: DocumentHandle;
  welcomes: number;
  /** cseq -> seq of every settled submit that the server placed. */
  acked: Map<number, number | null>;
  refused: Set<number>;
  inFlight: number;
  /** Re-joins after a reconnect: each must continue the same epoch. */
  resyncs: Array<{ snapshot: boolean; epochChanged: boolean }>;
}

describe('pm2 graceful reload (2 gateways + 2 workers, Redis Cluster)', () => {
  let pm2: Pm2Sandbox;
  let port: number;

  beforeAll(async () => {
    port = await freeTcpPort();
    pm2 = await Pm2Sandbox.create({
      ...redisEnv(servers.addresses, 'cluster'),
      PORT: String(port),
      HOST: '127.0.0.1',
      GATEWAY_INSTANCES: '2',
      WORKER_INSTANCES: '2',
      NODE_ENV: 'production',
      LOG_LEVEL: 'info',
      ORDERING_LEASE_MS: '1500',
      SHUTDOWN_DRAIN_MS: '3000',
      HISTORY_LENGTH: '20000',
    });
    await pm2.pm2(['start', pm2.ecosystem]);
    const apps = await pm2.list();
    expect(apps.map((a) => `${a.name}:${a.status}`).sort()).toEqual([
      'gateway:online',
      'gateway:online',
      'worker:online',
      'worker:online',
    ]);
  }, 60_000);

  afterAll(async () => {
    await pm2?.stop();
  }, 30_000);

  it('reloads gateways then workers while clients stream: nothing acked is lost or applied twice', async () => {
    const url = `ws://127.0.0.1:${port}/ws`;
    const http = `http://127.0.0.1:${port}`;
    const doc = randomDoc('reload');
    const streamers: Streamer[] = [];
    for (let i = 0; i < CLIENTS; i++) {
      // initialCseq 1: the k-th submit of a client is its cseq k.
      const client = new FlowClient({
        url,
        client: `reloader-${i}-${doc.slice(-6)}`,
        initialCseq: 1,
        reconnect: { minDelayMs: 50, maxDelayMs: 300 },
      });
      let welcomes = 0;
      client.on('welcome', () => welcomes++);
      const handle = await client.join(doc);
      const resyncs: Streamer['resyncs'] = [];
      handle.on('resync', ({ snapshot, epochChanged }) => resyncs.push({ snapshot, epochChanged }));
      streamers.push({
        client,
        handle,
        get welcomes() {
          return welcomes;
        },
        acked: new Map(),
        refused: new Set(),
        inFlight: 0,
        resyncs,
      });
    }

    let streaming = true;
    const pump = async (s: Streamer, index: number) => {
      for (let cseq = 1; streaming; cseq++) {
        while (s.inFlight >= WINDOW) await delay(5);
        s.inFlight++;
        s.handle
          .submit([{ op: 'set', coll: 'entries', id: `c${index}`, value: { cseq } }])
          .then(
            (result) => s.acked.set(cseq, result.seq),
            // Refused (UNAVAILABLE from a gateway that is stopping): nothing was applied.
            () => s.refused.add(cseq),
          )
          .finally(() => s.inFlight--);
        await delay(15);
      }
    };
    const pumping = Promise.all(streamers.map((s, i) => pump(s, i)));
    const ackedTotal = () => streamers.reduce((sum, s) => sum + s.acked.size, 0);
    await waitFor(() => ackedTotal() >= 40, 20_000, 'ops flowing');

    // While gateways reload, one of them must answer at any moment.
    const probe = healthProbe(port);
    const before = await pm2.list();
    await pm2.pm2(['reload', 'gateway']);
    const afterGateways = await pm2.list();
    const probed = await probe.stop();
    expect(restarted(before, afterGateways, 'gateway')).toBe(true);
    const seen = `${JSON.stringify(probed)}`;
    expect(probed.refused, `no gateway listened at some moment: ${seen}`).toBe(0);
    expect(probed.other, seen).toBe(0);
    expect(probed.answers).toBeGreaterThan(20);
    console.log(`health during the gateway reload: ${seen}`);

    let mark = ackedTotal();
    await waitFor(() => ackedTotal() >= mark + 40, 20_000, 'ops flowing after the gateway reload');

    await pm2.pm2(['reload', 'worker']);
    expect(restarted(afterGateways, await pm2.list(), 'worker')).toBe(true);
    mark = ackedTotal();
    await waitFor(() => ackedTotal() >= mark + 40, 20_000, 'ops flowing after the worker reload');

    streaming = false;
    await pumping;
    await waitFor(
      () => streamers.every((s) => s.inFlight === 0),
      20_000,
      'every submit settled',
    ).catch(async (err: Error) => {
      throw new Error(`${err.message}\n${await tail(pm2.logFile('gateway'))}`);
    });

    // The server's view: the document and its whole history.
    const server = (await (await fetch(`${http}/docs/${doc}`)).json()) as {
      epoch: string;
      seq: number;
      state: unknown;
    };
    const reader = await TestClient.connect(url);
    const history = (await reader.request({
      type: 'join',
      doc,
      since: 0,
      epoch: server.epoch,
    })) as { events: EventRecord[]; seq: number };
    await reader.close();
    const events = history.events;

    // One gap-free order; each op message applied once.
    expect(events.map((e) => e.seq)).toEqual(
      Array.from({ length: events.length }, (_, i) => i + 1),
    );
    expect(server.seq).toBe(events.length);
    const applied = new Map(events.map((e) => [`${e.client}/${e.cseq}`, e.seq]));
    expect(applied.size).toBe(events.length);

    // Every acked op is there, at the seq its ack named; refused ones are not.
    for (const [i, s] of streamers.entries()) {
      const id = s.client.clientId;
      const mine = events.filter((e) => e.client === id);
      const cseqs = mine.map((e) => e.cseq);
      // Per-client order: cseqs increase along the seq.
      expect(cseqs).toEqual([...cseqs].sort((a, b) => a - b));
      expect(
        [...cseqs].sort((a, b) => a - b),
        `client ${i}: ${s.acked.size} acked, ${s.refused.size} refused`,
      ).toEqual([...s.acked.keys()].sort((a, b) => a - b));
      for (const e of mine) {
        const seq = s.acked.get(e.cseq);
        if (seq !== null) expect(seq).toBe(e.seq);
      }
    }
    expect(streamers.reduce((sum, s) => sum + s.acked.size, 0)).toBe(events.length);

    console.log(
      `pm2 reload: ${events.length} ops applied; per client acked/refused/welcomes/resyncs: ` +
        streamers
          .map((s) => `${s.acked.size}/${s.refused.size}/${s.welcomes}/${s.resyncs.length}`)
          .join(' '),
    );

    // Every client lost its gateway at least once, came back, and converged.
    for (const s of streamers) {
      expect(s.welcomes).toBeGreaterThanOrEqual(2);
      expect(s.resyncs.length).toBeGreaterThanOrEqual(1);
      expect(s.resyncs.filter((r) => r.epochChanged)).toEqual([]);
      await waitFor(() => s.handle.seq === server.seq, 10_000, 'client caught up');
      expect(s.handle.pendingCount).toBe(0);
      expect(s.handle.state).toEqual(server.state);
      s.client.close();
    }
  }, 120_000);
});

/** Whether every instance of `app` has a new pid and one more restart. */
function restarted(before: Pm2Process[], after: Pm2Process[], app: string): boolean {
  const old = before.filter((p) => p.name === app);
  return old.every((p) => {
    const now = after.find((q) => q.pm_id === p.pm_id);
    return now !== undefined && now.pid !== p.pid && now.restarts === p.restarts + 1;
  });
}

/**
 * Polls /health, each time on a new connection, until stopped. `refused`
 * counts moments when no gateway listened at all. `reset` counts connections
 * the kernel had queued on a gateway's listening socket as it closed: with
 * SO_REUSEPORT each process has its own accept queue, and Linux resets what
 * is left in a closed one unless net.ipv4.tcp_migrate_req=1
 * (docs/operations.md); a client simply connects again.
 */
function healthProbe(port: number) {
  let running = true;
  const counts = { answers: 0, refused: 0, reset: 0, other: 0 };
  const errors: string[] = [];
  const once = () =>
    new Promise<void>((resolve) => {
      const req = httpGet(
        { host: '127.0.0.1', port, path: '/health', agent: false, timeout: 2000 },
        (res) => {
          res.resume();
          res.on('end', () => {
            if (res.statusCode === 200) counts.answers++;
            else {
              counts.other++;
              errors.push(`status ${res.statusCode}`);
            }
            resolve();
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', (err: NodeJS.ErrnoException) => {
        if (err.code === 'ECONNREFUSED') counts.refused++;
        else if (err.code === 'ECONNRESET') counts.reset++;
        else counts.other++;
        errors.push(err.code ?? err.message);
        resolve();
      });
    });
  const loop = (async () => {
    while (running) {
      await once();
      await delay(10);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return { ...counts, errors };
    },
  };
}

async function tail(file: string, lines = 40): Promise<string> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text.split('\n').slice(-lines).join('\n');
}
