import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { parseOptions } from '../../src/loadtest/options';
import type { LoadReport } from '../../src/loadtest/report';
import { runLoadTest } from '../../src/loadtest/runner';
import { FlowFleet } from './flow-fleet';
import { ProbeWriter, longestStall, recoveryAfter, verify, type ProbeVerdict } from './op-prober';
import { ReplicatedCluster, type ClusterNode } from './replicated-cluster';

/**
 * One Redis master dies (kill -9) while clients write: a local cluster of 3
 * masters + 3 replicas (cluster-node-timeout 3000), 2 gateways and 2
 * workers, probe writers on documents spread over every master, and
 * optionally the load tester beside them. Measures how long the cluster took
 * to promote a replica, how long the writers of the dead master's documents
 * waited for their next ack, and whether any acked op message is missing
 * from the history afterwards. Shared by test/reliability/failover.test.ts
 * and bench/failover-cluster.ts.
 */
export interface FailoverOptions {
  /** Probe documents (writers), spread over the masters. */
  docs: number;
  /** Pause between a writer's ack and its next op message, ms. */
  intervalMs: number;
  /** Writing before the kill, ms. */
  beforeKillMs: number;
  /** Writing after every writer is acked again, ms. */
  afterRecoveryMs: number;
  /** Give up waiting for recovery after this long, ms. */
  recoveryBoundMs: number;
  /** Run the load tester beside the probes (its own checker): op messages per second. */
  loadRate?: number;
  /** How long the load tester runs, s (it starts with the probes). Default: until 15 s after the kill. */
  loadDurationS?: number;
  /**
   * Freeze the victim's replica (SIGSTOP) this long before the kill and let
   * it go on (SIGCONT) right after: a replica that lags, as over a slow link,
   * and is promoted without the writes it missed. Keep it below the
   * cluster-node-timeout (3 s), or the replica itself is marked failed.
   */
  stallReplicaMs?: number;
  /** Extra environment of the Flow processes, e.g. REDIS_WAIT_REPLICAS. */
  flowEnv?: Record<string, string>;
  /** Extra redis-server arguments (e.g. min-replicas-to-write). */
  redisArgs?: string[];
  log?: (line: string) => void;
}

export interface FailoverResult {
  victim: { port: number; docs: string[] };
  /** From the kill until every live node reported cluster_state:ok with 3 masters. */
  clusterFailoverMs: number;
  /** From the kill until each writer of the victim's documents had an ack again; the slowest. */
  recoveryMs: number | null;
  /** The same over every document (those of other masters should not stall). */
  recoveryAllMs: number | null;
  /** Longest gap between two acks of any writer. */
  longestStallMs: number;
  /** Op messages answered with an error and resent, by code. */
  errors: Record<string, number>;
  verdict: ProbeVerdict;
  acked: number;
  load: LoadReport | null;
  /** Error lines each Flow process logged (an outage should be told once per connection, not per retry). */
  errorLines: Record<string, number>;
  /** The distinct error and warning messages, with their counts. */
  messages: Record<string, number>;
  /** The first line of each distinct error message, in full. */
  examples: Record<string, string>;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export async function runFailover(options: FailoverOptions): Promise<FailoverResult> {
  const log = options.log ?? (() => undefined);
  const cluster = await ReplicatedCluster.start({ args: options.redisArgs ?? [] });
  log(`cluster up: ${cluster.seeds}`);
  const fleet = new FlowFleet({
    REDIS_CLUSTER_NODES: cluster.seeds,
    REDIS_KEY_PREFIX: `flow-failover-${randomBytes(3).toString('hex')}:`,
    REDIS_RETRY_DELAY: '100',
    // All three services in Redis (no import of redis-env: it pulls vitest into bench/).
    USE_REDIS_WEBSOCKETS: 'true',
    USE_REDIS_COLLABORATION: 'true',
    USE_REDIS_EVENT_ORDERING: 'true',
    ORDERING_LEASE_MS: '1500',
    HISTORY_LENGTH: '100000',
    LIMIT_MESSAGES_PER_SECOND: '100000',
    LIMIT_MESSAGE_BURST: '100000',
    LOG_LEVEL: 'info',
    ...options.flowEnv,
  });
  const writers: ProbeWriter[] = [];
  try {
    await fleet.start({ 'gw-a': 'gateway', 'gw-b': 'gateway', 'wk-1': 'worker', 'wk-2': 'worker' });
    const urls = fleet.urls;
    log(`gateways ${urls.join(' ')}; workers wk-1, wk-2`);

    // Documents on every master; the victim is the master of the first.
    const run = randomBytes(3).toString('hex');
    const docs = Array.from({ length: options.docs }, (_, i) => `fo-${run}-${i}`);
    const masterOf = new Map<string, ClusterNode>();
    for (const doc of docs) masterOf.set(doc, await cluster.masterOf(`{${doc}}`));
    const victim = masterOf.get(docs[0] as string) as ClusterNode;
    const victimDocs = docs.filter((d) => masterOf.get(d) === victim);
    log(
      `victim master ${victim.port} (pid ${victim.pid}) serves ${victimDocs.length} of ${docs.length} probe documents`,
    );

    for (const [i, doc] of docs.entries()) {
      const writer = new ProbeWriter(doc, `probe-${run}-${i}`, urls, i, options.intervalMs);
      writers.push(writer);
      writer.start();
    }
    const loading =
      options.loadRate === undefined
        ? null
        : runLoad(
            urls,
            options.loadRate,
            options.loadDurationS ?? options.beforeKillMs / 1000 + 15,
          );

    const stall = options.stallReplicaMs ?? 0;
    const replica = stall > 0 ? await cluster.replicaOf(victim) : null;
    await sleep(options.beforeKillMs - stall);
    if (replica) {
      replica.child.kill('SIGSTOP');
      // A frozen process still receives into its kernel socket buffer: fill
      // that first (a large value in the victim's slot), so that what the
      // master replicates next waits in the master's own memory, as it would
      // behind a slow link, and dies with it.
      const direct = new Redis({ host: victim.host, port: victim.port, lazyConnect: true });
      await direct.connect();
      await direct.set(`{${docs[0]}}:replication-filler`, Buffer.alloc(32 * 1024 * 1024, 120));
      direct.disconnect();
      log(`froze replica ${replica.port} for ${stall} ms behind 32 MB of replication stream`);
      await sleep(stall);
    }
    const killedAt = performance.now();
    await cluster.kill(victim);
    replica?.child.kill('SIGCONT');
    log(`killed master ${victim.port} with SIGKILL`);
    const clusterFailoverMs = await cluster.waitFailover(options.recoveryBoundMs);
    log(`cluster failed over in ${(clusterFailoverMs / 1000).toFixed(1)} s`);

    const deadline = killedAt + options.recoveryBoundMs;
    while (
      writers.some((w) => recoveryAfter(w, killedAt) === null) &&
      performance.now() < deadline
    ) {
      await sleep(50);
    }
    await sleep(options.afterRecoveryMs);
    await Promise.all(writers.map((w) => w.stop()));
    const load = loading ? await loading : null;

    const recoveries = (list: ProbeWriter[]) => {
      const values = list.map((w) => recoveryAfter(w, killedAt));
      return values.some((v) => v === null) ? null : Math.max(...(values as number[]));
    };
    const errors: Record<string, number> = {};
    for (const w of writers)
      for (const op of w.ops) for (const e of op.errors) errors[e] = (errors[e] ?? 0) + 1;
    const verdict = await verify(urls[0] as string, writers);
    return {
      victim: { port: victim.port, docs: victimDocs },
      clusterFailoverMs,
      recoveryMs: recoveries(writers.filter((w) => victimDocs.includes(w.doc))),
      recoveryAllMs: recoveries(writers),
      longestStallMs: Math.max(...writers.map(longestStall)),
      errors,
      verdict,
      acked: verdict.acked,
      load,
      errorLines: countBy(fleet.lines(/"level":50/), (line) => line.split(':')[0] ?? ''),
      examples: Object.fromEntries(
        fleet
          .lines(/"level":50/)
          .reverse()
          .map((line) => [/"msg":"([^"]*)"/.exec(line)?.[1] ?? line, line]),
      ),
      messages: countBy(fleet.lines(/"level":[45]0/), (line) => {
        const msg = /"msg":"([^"]*)"/.exec(line)?.[1] ?? line;
        return `${msg.slice(0, 60)}${msg.length > 60 ? '...' : ''}`;
      }),
    };
  } finally {
    await Promise.all(writers.map((w) => w.stop()));
    await fleet.stop();
    await cluster.stop();
  }
}

function countBy(lines: string[], key: (line: string) => string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const line of lines) counts[key(line)] = (counts[key(line)] ?? 0) + 1;
  return counts;
}

async function runLoad(urls: string[], rate: number, durationS: number): Promise<LoadReport> {
  const options = parseOptions(
    [
      ...urls.flatMap((url) => ['--url', url]),
      ['--clients', '16'],
      ['--docs', '12'],
      ['--members', '4'],
      ['--rate', String(rate)],
      ['--duration', String(Math.ceil(durationS))],
      ['--ramp-up', '1'],
      ['--threads', '1'],
      ['--drain-timeout', '30'],
      '--no-progress',
    ].flat(),
    false,
  );
  if (options === 'help') throw new Error('unexpected --help');
  return runLoadTest(options, { log: () => undefined, progress: () => undefined });
}
