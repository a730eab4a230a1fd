import { describe, expect, it } from 'vitest';
import { parseFault } from '../../src/loadtest/faults';
import { entityValue, opMessage, sendTimeOf } from '../../src/loadtest/ops';
import { parseOptions, UsageError, type LoadOptions } from '../../src/loadtest/options';
import { maxDocsPerClient, planRun } from '../../src/loadtest/plan';
import { dueAt, dueBy } from '../../src/loadtest/schedule';

describe('open-loop schedule', () => {
  it('ramps up linearly, then sends at the rate', () => {
    expect(dueBy(1000, 2, 0)).toBe(0);
    expect(dueBy(1000, 2, 2)).toBe(1000); // half the full-rate count during the ramp
    expect(dueBy(1000, 2, 3)).toBe(2000);
    expect(dueBy(1000, 0, 1.5)).toBe(1500);
  });

  it('gives each message the moment it becomes due', () => {
    for (const [rate, ramp] of [
      [1000, 2],
      [50, 0],
      [20_000, 1],
    ] as const) {
      for (const n of [1, 7, 100, 999, 5000]) {
        const t = dueAt(rate, ramp, n);
        expect(dueBy(rate, ramp, t)).toBeCloseTo(n, 6);
      }
    }
  });
});

describe('run plan', () => {
  it('gives each document `members` distinct clients and spreads clients over URLs and threads', () => {
    const plan = planRun({
      runId: 'r1',
      clients: 10,
      docs: 25,
      members: 4,
      urls: ['ws://a/ws', 'ws://b/ws'],
      threads: 3,
    });
    expect(plan.memberships).toBe(100);
    const members = new Map<string, string[]>();
    for (const c of plan.clients)
      for (const d of c.docs) members.set(d, [...(members.get(d) ?? []), c.id]);
    for (const doc of plan.docs) expect(new Set(members.get(doc)).size).toBe(4);
    expect(maxDocsPerClient(plan)).toBe(10);
    expect(plan.clients.map((c) => c.urlIndex).slice(0, 3)).toEqual([0, 1, 0]);
    expect(plan.threads.map((t) => t.length)).toEqual([4, 3, 3]);
  });
});

describe('options', () => {
  const parse = (...args: string[]) => parseOptions(args, false) as LoadOptions;

  it('reads the command line of the brief', () => {
    const o = parse(
      '--url',
      'ws://127.0.0.1:3001/ws',
      '--url',
      'ws://127.0.0.1:3002/ws',
      '--clients',
      '200',
      '--docs',
      '20',
      '--rate',
      '5000',
      '--presence-rate',
      '0',
      '--op-size',
      '100',
      '--duration',
      '30',
      '--ramp-up',
      '5',
      '--threads',
      '2',
      '--report',
      'report.json',
      '--fault',
      '10s:kill -9 1234',
    );
    expect(o).toMatchObject({
      urls: ['ws://127.0.0.1:3001/ws', 'ws://127.0.0.1:3002/ws'],
      clients: 200,
      docs: 20,
      members: 10,
      rate: 5000,
      opSize: 100,
      durationS: 30,
      rampUpS: 5,
      threads: 2,
      report: 'report.json',
      faults: [{ atS: 10, command: 'kill -9 1234' }],
      progress: false,
    });
  });

  it('refuses what it cannot run, saying why', () => {
    expect(() => parse('--clients', '5')).toThrow(UsageError);
    expect(() => parse('--url', 'http://x', '--clients', '5')).toThrow(/ws:\/\//);
    expect(() => parse('--url', 'ws://x/ws', '--rate', 'fast')).toThrow(/--rate/);
    expect(() => parse('--url', 'ws://x/ws', '--fault', 'soon:reboot')).toThrow(/--fault/);
    expect(parseFault('2.5s:echo $(date)')).toEqual({ atS: 2.5, command: 'echo $(date)' });
  });
});

describe('op messages', () => {
  it('carry their send time and have an entity value of the asked size', () => {
    const value = entityValue(123456789.4, 7, 100);
    expect(JSON.stringify(value).length).toBe(100);
    const message = opMessage('d', 3, 7, 123456789.4, 100);
    expect(sendTimeOf(message.ops)).toBe(123456789);
    expect(opMessage('d', 3, 8, 1, 100).ops[0]?.op).toBe('patch');
    expect(opMessage('d', 3, 32, 1, 100).ops[0]?.op).toBe('del');
  });
});
