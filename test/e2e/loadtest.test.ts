import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LoadOptions } from '../../src/loadtest/options';
import { formatSummary } from '../../src/loadtest/report';
import { runLoadTest } from '../../src/loadtest/runner';
import { TcpProxy } from '../support/tcp-proxy';
import { startTestServer } from '../support/test-server';

type Server = Awaited<ReturnType<typeof startTestServer>>;

const quiet = { log: () => undefined, progress: () => undefined };

function options(url: string, overrides: Partial<LoadOptions> = {}): LoadOptions {
  return {
    urls: [url],
    clients: 6,
    docs: 2,
    members: 3,
    rate: 300,
    presenceRate: 10,
    opSize: 100,
    durationS: 2,
    rampUpS: 0.5,
    threads: 1,
    drainTimeoutS: 5,
    faults: [],
    report: undefined,
    progress: false,
    json: false,
    runId: Math.random().toString(36).slice(2, 8),
    ...overrides,
  };
}

describe('load tester against a real server (memory)', () => {
  let server: Server;

  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server.close();
  });

  it('runs a short load, measures it and finds nothing wrong', async () => {
    const report = await runLoadTest(
      options(server.url, { faults: [{ atS: 1, command: 'echo fault-ran' }] }),
      quiet,
    );
    expect(report.check.anomalies).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.check.seqs).toBeGreaterThan(0);
    expect(report.rates.offered).toBeGreaterThan(200);
    expect(report.rates.acked).toBeGreaterThan(200);
    expect(report.rates.delivered).toBeGreaterThan(200);
    expect(report.latencyMs.ack.count).toBeGreaterThan(0);
    expect(report.latencyMs.ack.p50).toBeGreaterThan(0);
    expect(report.latencyMs.fanout.count).toBeGreaterThan(0);
    expect(report.totals.presenceSent).toBeGreaterThan(0);
    expect(report.errors).toEqual({});
    expect(report.faults).toMatchObject([{ atS: 1, exitCode: 0 }]);
    expect(report.faults[0]?.output).toContain('fault-ran');
    expect(formatSummary(report)).toContain('checker: OK');
  });

  it('reconnects after its connections are cut, resends, and still passes the checker', async () => {
    const proxy = await TcpProxy.start(server.port);
    try {
      // Cut every connection twice during the load, timed from the end of the setup.
      const cuts: Array<Promise<void>> = [];
      const log = (line: string) => {
        if (!/clients joined/.test(line)) return;
        for (const ms of [800, 1600])
          cuts.push(new Promise((resolve) => setTimeout(() => resolve(proxy.cut()), ms)));
      };
      const report = await runLoadTest(
        options(`ws://127.0.0.1:${proxy.port}/ws`, { durationS: 2.5, rate: 400 }),
        { ...quiet, log },
      );
      await Promise.all(cuts);
      expect(cuts).toHaveLength(2);
      expect(report.check.anomalies).toEqual([]);
      expect(report.disconnects).toBeGreaterThan(0);
      expect(report.reconnects).toBeGreaterThan(0);
      expect(report.totals.acked).toBeGreaterThan(0);
    } finally {
      await proxy.close();
    }
  });
});
