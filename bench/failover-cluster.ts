/**
 * Redis Cluster failover, measured: starts a local cluster of 3 masters + 3
 * replicas (redis-server from PATH, ports in 17000-21999, cluster-node-timeout
 * 3000), 2 gateways and 2 workers from source, writes through probe clients
 * (and the load tester with --load-rate), kills one master with SIGKILL and
 * reports how long the cluster took to promote its replica, how long until
 * the writers of that master's documents were acked again, and any acked op
 * message missing from the documents' histories afterwards.
 *
 *   npx tsx bench/failover-cluster.ts --runs 5
 *   npx tsx bench/failover-cluster.ts --runs 3 --load-rate 150
 *   npx tsx bench/failover-cluster.ts '--redis-args=--min-replicas-to-write 1'
 *   npx tsx bench/failover-cluster.ts --stall-replica-ms 1500   # a lagging replica
 *   npx tsx bench/failover-cluster.ts --stall-replica-ms 1500 --flow-env REDIS_WAIT_REPLICAS=1
 *
 * Exit code 1 when any run lost an acked op or did not recover within the bound.
 */
import { formatSummary } from '../src/loadtest/report';
import { runFailover, type FailoverResult } from '../test/reliability/failover-scenario';
import { benchArgs } from './bench-args';

const SCRIPT = {
  name: 'bench/failover-cluster.ts',
  command: 'npx tsx bench/failover-cluster.ts',
  about:
    'Kills one master of a 3+3 Redis Cluster under writes and reports how long the failover and the recovery of acks took, and any acknowledged op lost.',
};
const values = benchArgs(SCRIPT, {
  runs: { type: 'string', default: '1', help: 'failovers', number: { min: 1 } },
  docs: {
    type: 'string',
    default: '9',
    help: 'documents written by the probe clients',
    number: { min: 1 },
  },
  'interval-ms': {
    type: 'string',
    default: '20',
    help: "ms between one probe client's ops",
    number: { min: 1 },
  },
  'load-rate': {
    type: 'string',
    help: 'also run the load tester at this op/s',
    number: { min: 1 },
  },
  'bound-s': {
    type: 'string',
    default: '30',
    help: 'seconds the recovery may take',
    number: { min: 1 },
  },
  'redis-args': {
    type: 'string',
    default: '',
    help: 'extra redis-server arguments, space-separated',
  },
  'flow-env': { type: 'string', multiple: true, default: [], help: 'K=V for the Flow processes' },
  'stall-replica-ms': {
    type: 'string',
    default: '0',
    help: "freeze the victim's replica this long behind before the kill",
    number: { min: 0 },
  },
  json: { type: 'boolean', default: false, help: 'print the results as JSON' },
});

const seconds = (ms: number | null) => (ms === null ? 'never' : `${(ms / 1000).toFixed(2)} s`);

function line(run: number, r: FailoverResult): string {
  const load = r.load
    ? `; load tester: ${r.load.totals.acked} acked, checker ${r.load.check.ok ? 'OK' : `FAILED (${JSON.stringify(r.load.check.counts)})`}, ack max ${seconds(r.load.latencyMs.ack.max)}`
    : '';
  return (
    `run ${run}: master :${r.victim.port} (${r.victim.docs.length} probe docs) killed; ` +
    `cluster failover ${seconds(r.clusterFailoverMs)}, writers acked again after ${seconds(r.recoveryMs)} ` +
    `(all documents ${seconds(r.recoveryAllMs)}); ${r.acked} acked op messages, ${r.verdict.lost.length} lost, ` +
    `${r.verdict.appliedTwice} applied twice, errors ${JSON.stringify(r.errors)}${load}` +
    (Object.keys(r.verdict.unreadable).length > 0
      ? `; documents that refused the final read: ${JSON.stringify(r.verdict.unreadable)}`
      : '')
  );
}

async function main(): Promise<number> {
  const runs = Number(values.runs);
  const redisArgs = values['redis-args'].split(/\s+/).filter((a) => a !== '');
  const results: FailoverResult[] = [];
  for (let run = 1; run <= runs; run++) {
    const result = await runFailover({
      docs: Number(values.docs),
      intervalMs: Number(values['interval-ms']),
      beforeKillMs: 3_000,
      afterRecoveryMs: 2_000,
      recoveryBoundMs: Number(values['bound-s']) * 1000,
      ...(values['load-rate'] === undefined ? {} : { loadRate: Number(values['load-rate']) }),
      redisArgs,
      stallReplicaMs: Number(values['stall-replica-ms']),
      flowEnv: Object.fromEntries(
        (values['flow-env'] as string[]).map((pair) => pair.split(/=(.*)/s).slice(0, 2)),
      ),
      log: (text) => console.error(`  ${text}`),
    });
    results.push(result);
    console.log(line(run, result));
    if (result.load && !values.json) console.error(formatSummary(result.load));
  }
  const failovers = results.map((r) => r.clusterFailoverMs);
  const recoveries = results.map((r) => r.recoveryMs);
  const lost = results.reduce((n, r) => n + r.verdict.lost.length, 0);
  const acked = results.reduce((n, r) => n + r.acked, 0);
  console.log(
    `\n${runs} run(s): cluster failover ${failovers.map(seconds).join(', ')}; ` +
      `writers acked again after ${recoveries.map(seconds).join(', ')}; ` +
      `${lost} of ${acked} acked op messages lost`,
  );
  if (values.json) console.log(JSON.stringify(results, null, 2));
  return lost === 0 && recoveries.every((r) => r !== null) ? 0 : 1;
}

main()
  .then((code) => process.exit(code))
  .catch((err: unknown) => {
    console.error('failover-cluster:', err);
    process.exit(1);
  });
