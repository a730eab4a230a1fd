/**
 * `npx tsx bench/ordering-commands.ts`: Redis commands per op message in
 * BullMQ ordering (gateway + worker in this process) against a Redis of its
 * own, from INFO commandstats, plus the CPU of this process and of Redis.
 * Command counts do not depend on how busy the machine is; the CPU does.
 * Prints figures; asserts nothing.
 *
 *   npx tsx bench/ordering-commands.ts [--docs 20] [--ops-per-doc 500] [--burst 5] [--gap 1]
 *                                      [--modes inproc,bullmq]
 *
 * Every document gets `--burst` op messages, then the next document; after
 * each round over the documents the bench waits `--gap` ms. A long gap
 * (`--burst 1 --gap 30`) makes each op its own worker turn, as with many
 * quiet documents.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import pino from 'pino';
import { RedisResources } from '../src/redis/resources';
import { configFrom } from '../src/config';
import { UnavailableError } from '../src/protocol';
import { RedisKeys } from '../src/redis/keys';
import type { OpSubmission } from '../src/document/op-submission';
import { createRedisCollaborationService } from '../src/services/collaboration/collaboration.redis';
import { RedisEventOrderingService } from '../src/services/event-ordering/event-ordering.redis';
import { OrderingKeys } from '../src/redis/ordering-keys';
import { OrderingWorker } from '../src/worker/ordering-worker';
import { processCpuMs } from './process-cpu';
import { benchArgs } from './bench-args';
import { parseCommandStats, statsBetween, type CommandCalls } from './redis-commands';

const SCRIPT = {
  name: 'bench/ordering-commands.ts',
  command: 'npx tsx bench/ordering-commands.ts',
  about:
    'Counts the Redis commands per op message of each ordering mode (gateway and worker in this process) against a Redis of its own, and prints them with the CPU of this process and of Redis.',
};
const values = benchArgs(SCRIPT, {
  docs: { type: 'string', default: '20', help: 'documents', number: { min: 1 } },
  'ops-per-doc': {
    type: 'string',
    default: '500',
    help: 'ops sent to each document',
    number: { min: 1 },
  },
  burst: { type: 'string', default: '5', help: 'ops sent together', number: { min: 1 } },
  gap: { type: 'string', default: '1', help: 'ms between bursts', number: { min: 0 } },
  modes: {
    type: 'string',
    default: 'inproc,bullmq',
    help: 'inproc and/or bullmq, comma-separated',
  },
});
const DOCS = Number(values.docs);
const OPS_PER_DOC = Number(values['ops-per-doc']);
const BURST = Number(values.burst);
const GAP_MS = Number(values.gap);

const log = pino({ level: 'silent' });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Calls and microseconds per command, as INFO commandstats gives them now. */
async function commandStats(redis: Redis): Promise<{ calls: CommandCalls; usec: CommandCalls }> {
  const info = await redis.info('commandstats');
  return { calls: parseCommandStats(info), usec: parseCommandStats(info, 'usec') };
}

const op = (doc: string, cseq: number): OpSubmission => ({
  doc,
  client: 'bench',
  cseq,
  ops: [{ op: 'set', coll: 'c', id: 'x', value: { cseq } }],
});

async function run(
  mode: 'bullmq' | 'inproc',
  port: number,
  redisPid: number,
  autoPipelining: boolean,
) {
  const config = configFrom({
    REDIS_HOST: '127.0.0.1',
    REDIS_PORT: String(port),
    REDIS_KEY_PREFIX: `bench-${randomUUID().slice(0, 8)}:`,
    REDIS_AUTO_PIPELINING: String(autoPipelining),
    LOG_LEVEL: 'silent',
    NODE_ENV: 'test',
  });
  const admin = new Redis(port, '127.0.0.1');
  const gatewayRedis = new RedisResources(config, log);
  const workerRedis = new RedisResources(config, log);
  const keys = new OrderingKeys(config.redis.keyPrefix);
  let applied = 0;
  const docs = Array.from({ length: DOCS }, (_, i) => `bench-${i}`);
  let submit: (sub: OpSubmission) => Promise<void>;
  const closers: Array<() => Promise<unknown>> = [];
  if (mode === 'bullmq') {
    const worker = new OrderingWorker({
      client: workerRedis.commands,
      subscriber: workerRedis.subscriber,
      sharded: false,
      keys,
      docKeys: new RedisKeys(config.redis.keyPrefix),
      publish: async (_doc, outcomes) => {
        applied += outcomes.length;
        await workerRedis.commands.publish('bench-outcomes', 'x');
      },
      stateInRedis: true,
      processor: () => Promise.reject(new Error('every job here is applied by the take script')),
      owner: 'bench-worker',
      log,
      concurrency: 64,
      jobsPerBatch: 16,
      batchMax: 100,
      historyLength: 1000,
      maxDocBytes: config.limits.docMaxBytes,
      // No REDIS_WAIT_REPLICAS, as in the in-process run: a lone Redis has no replica.
      waitReplicas: 0,
      leaseMs: 5000,
      pollMs: 500,
      keyTtlSeconds: 3600,
    });
    await worker.start();
    const gateway = new RedisEventOrderingService({
      client: gatewayRedis.commands,
      keys,
      sharded: false,
      log,
      batchMax: 100,
      keyTtlSeconds: 3600,
      toUnavailable: () => new UnavailableError('down'),
    });
    submit = (sub) => gateway.submit(sub);
    closers.push(
      () => gateway.close(),
      () => worker.close(),
    );
  } else {
    const collaboration = createRedisCollaborationService(config, log);
    const pending = new Map<string, OpSubmission[]>();
    // In-process ordering: what one I/O turn brought, applied as one batch, then published.
    submit = async (sub) => {
      const list = pending.get(sub.doc) ?? [];
      list.push(sub);
      if (list.length === 1) {
        pending.set(sub.doc, list);
        setImmediate(() => {
          pending.delete(sub.doc);
          void collaboration.applyBatch(sub.doc, list).then(async (outcomes) => {
            applied += outcomes.length;
            await gatewayRedis.commands.publish('bench-outcomes', 'x');
          });
        });
      }
    };
    closers.push(() => collaboration.close());
  }
  await sleep(300);
  const before = await commandStats(admin);
  const cpuBefore = (processCpuMs(process.pid) ?? 0) + (processCpuMs(redisPid) ?? 0);
  const redisBefore = processCpuMs(redisPid) ?? 0;
  const started = Date.now();
  for (let cseq = 1; cseq <= OPS_PER_DOC; cseq += BURST) {
    for (const doc of docs) {
      for (let k = 0; k < BURST; k++) void submit(op(doc, cseq + k));
    }
    await sleep(GAP_MS);
  }
  const total = DOCS * OPS_PER_DOC;
  while (applied < total && Date.now() - started < 120_000) await sleep(20);
  const elapsed = Date.now() - started;
  const cpuMs = (processCpuMs(process.pid) ?? 0) + (processCpuMs(redisPid) ?? 0) - cpuBefore;
  const redisMs = (processCpuMs(redisPid) ?? 0) - redisBefore;
  const after = await commandStats(admin);
  const calls = Object.entries(statsBetween(before.calls, after.calls));
  const usec = Object.entries(statsBetween(before.usec, after.usec));
  const commands = calls.reduce((a, [, n]) => a + n, 0);
  for (const close of closers) await close();
  await gatewayRedis.close();
  await workerRedis.close();
  admin.disconnect();
  const top = calls
    .sort((a, b) => b[1] - a[1])
    .filter(([, n]) => n / total >= 0.05)
    .map(([name, n]) => `${name} ${(n / total).toFixed(3)}`)
    .join(', ');
  const slowest = usec
    .sort((a, b) => b[1] - a[1])
    .slice(0, 5)
    .map(([name, us]) => `${name} ${(us / total).toFixed(1)}`)
    .join(', ');
  console.log(
    `${mode} auto-pipelining ${autoPipelining ? 'on ' : 'off'}: ${applied}/${total} ops in ${elapsed} ms; ` +
      `${(commands / total).toFixed(3)} Redis commands per op (${top}); ` +
      `CPU ${((cpuMs / total) * 1000).toFixed(0)} ms per 1,000 ops (Redis ${((redisMs / total) * 1000).toFixed(0)}); ` +
      `Redis µs per op by command (scripts include their calls): ${slowest}`,
  );
}

async function main(): Promise<void> {
  const port = 30000 + Math.floor(Math.random() * 5000);
  const server = spawn(
    'redis-server',
    ['--port', String(port), '--save', '', '--appendonly', 'no'],
    {
      stdio: 'ignore',
    },
  );
  try {
    await sleep(500);
    // Auto-pipelining is for in-process ordering only (refused with BullMQ ordering).
    const modes = values.modes.split(',');
    if (modes.includes('inproc')) {
      await run('inproc', port, server.pid ?? 0, false);
      await run('inproc', port, server.pid ?? 0, true);
    }
    if (modes.includes('bullmq')) await run('bullmq', port, server.pid ?? 0, false);
  } finally {
    server.kill();
  }
}

void main();
