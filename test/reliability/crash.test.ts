import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseOptions } from '../../src/loadtest/options';
import { docId } from '../../src/loadtest/plan';
import { formatSummary, type LoadReport } from '../../src/loadtest/report';
import { runLoadTest } from '../../src/loadtest/runner';
import { randomKeyPrefix, useRedisServers } from '../support/redis-harness';
import { flagEnv, redisEnv } from '../support/redis-env';
import { FlowFleet } from './flow-fleet';

/**
 * DESIGN.md invariant 5 (an acked op survives the crash of any gateway or
 * worker process) under load: the load tester drives clients against two
 * gateways while its `--fault` option kills a worker, a gateway, or both with
 * SIGKILL; its checker then proves, from what every client saw and what
 * GET /docs answers, that no acked op was lost, none was applied twice, each
 * client's ops kept their order, and every client converged to the server's
 * state. The longest ack and fan-out waits bound how long the crash stalled
 * anyone.
 */
const servers = useRedisServers();

/** Every client's wait for an ack, or for an event, stays below this through the crash. */
const STALL_BOUND_MS = 15_000;
const DOCS = 8;

describe('kill -9 under load (2 gateways, 2 workers, Redis Cluster)', () => {
  let fleet: FlowFleet;
  let prefix: string;
  let seed: string;

  beforeAll(async () => {
    prefix = randomKeyPrefix();
    fleet = new FlowFleet({
      ...redisEnv(servers.addresses, 'cluster', prefix),
      ...flagEnv({ websockets: true, collaboration: true, eventOrdering: true }),
      // A dead worker's documents are taken over after this lease.
      ORDERING_LEASE_MS: '1500',
      LOG_LEVEL: 'info',
    });
    await fleet.start({ 'gw-a': 'gateway', 'gw-b': 'gateway', 'wk-1': 'worker', 'wk-2': 'worker' });
    seed = `${servers.addresses.cluster[0]?.host}:${servers.addresses.cluster[0]?.port}`;
  }, 90_000);

  afterEach(async () => {
    await fleet.restore();
  }, 60_000);

  afterAll(async () => {
    await fleet?.stop();
  });

  /**
   * A shell command that waits until `worker` holds the claim of one of the
   * run's documents (it is applying a batch), freezes it with SIGSTOP, and,
   * if the claim is still its own once frozen, runs `kill` (else it lets it
   * go on and looks again). So the worker dies holding the claim, in the
   * middle of a batch: its documents wait for the lease, then the other
   * worker takes them over. It prints the claim it saw.
   */
  function whenClaimed(runId: string, worker: string, pid: number, kill: string): string {
    const [host, port] = seed.split(':');
    const gets = Array.from(
      { length: DOCS },
      (_, i) => `GET ${prefix}claim:{${docId(runId, i)}}`,
    ).join('\\n');
    const held = `$(printf '${gets}\\n' | redis-cli -c -h ${host} -p ${port} | grep -m1 '^${worker}:')`;
    return (
      `for i in $(seq 500); do ` +
      `if [ -n "${held}" ]; then kill -STOP ${pid}; still="${held}"; ` +
      `if [ -n "$still" ]; then ${kill}; echo "claim held: $still"; exit 0; fi; kill -CONT ${pid}; fi; ` +
      `done; ${kill}; echo 'no claim seen'`
    );
  }

  async function load(runId: string, fault: string): Promise<LoadReport> {
    const options = parseOptions(
      [
        ...fleet.urls.flatMap((url) => ['--url', url]),
        ['--clients', '16'],
        ['--docs', String(DOCS)],
        ['--members', '4'],
        ['--rate', '160'],
        ['--presence-rate', '5'],
        ['--duration', '7'],
        ['--ramp-up', '1'],
        ['--threads', '1'],
        ['--drain-timeout', '20'],
        ['--run-id', runId],
        ['--fault', `3s:${fault}`],
        '--no-progress',
      ].flat(),
      false,
    );
    if (options === 'help') throw new Error('unexpected --help');
    const report = await runLoadTest(options, { log: () => undefined, progress: () => undefined });
    console.info(formatSummary(report));
    return report;
  }

  function expectSurvived(report: LoadReport): void {
    expect(report.faults, 'the fault ran').toMatchObject([{ exitCode: 0 }]);
    expect(report.check.anomalies, fleet.tail()).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.check.documents).toBe(DOCS);
    expect(report.totals.acked).toBeGreaterThan(500);
    expect(report.totals.unansweredAfterDrain).toBe(0);
    expect(report.errors.INTERNAL ?? 0).toBe(0);
    expect(report.latencyMs.ack.max).toBeLessThan(STALL_BOUND_MS);
    expect(report.latencyMs.fanout.max).toBeLessThan(STALL_BOUND_MS);
  }

  it('a worker killed mid-load: its documents move to the other worker; nothing lost or applied twice', async () => {
    const runId = `wk${Date.now().toString(36).slice(-5)}`;
    const report = await load(
      runId,
      whenClaimed(runId, 'wk-1', fleet.pid('wk-1'), `kill -9 ${fleet.pid('wk-1')}`),
    );
    expect(fleet.alive('wk-1')).toBe(false);
    // The victim held a document when it died: its ops waited for the lease
    // (ORDERING_LEASE_MS 1500, renewed every 500 ms), then the other worker took over.
    expect(report.faults[0]?.output).toMatch(/claim held: wk-1:/);
    expect(report.latencyMs.ack.max).toBeGreaterThan(900);
    expectSurvived(report);
  }, 60_000);

  it('a gateway killed mid-load: its clients reconnect to the other, resend, and converge', async () => {
    const runId = `gw${Date.now().toString(36).slice(-5)}`;
    const report = await load(runId, `kill -9 ${fleet.pid('gw-a')}`);
    expect(fleet.alive('gw-a')).toBe(false);
    expect(report.disconnects).toBeGreaterThanOrEqual(8);
    expect(report.reconnects).toBeGreaterThanOrEqual(8);
    expectSurvived(report);
  }, 60_000);

  it('a gateway and a worker killed together mid-load', async () => {
    const runId = `gk${Date.now().toString(36).slice(-5)}`;
    const report = await load(
      runId,
      whenClaimed(
        runId,
        'wk-2',
        fleet.pid('wk-2'),
        `kill -9 ${fleet.pid('gw-b')} ${fleet.pid('wk-2')}`,
      ),
    );
    expect(fleet.alive('gw-b')).toBe(false);
    expect(fleet.alive('wk-2')).toBe(false);
    expect(report.faults[0]?.output).toMatch(/claim held: wk-2:/);
    expect(report.reconnects).toBeGreaterThanOrEqual(8);
    expectSurvived(report);
  }, 60_000);
});
