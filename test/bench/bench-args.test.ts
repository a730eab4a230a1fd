import { describe, expect, it } from 'vitest';
import { runTsx } from '../support/run-tsx';

/** Runs a bench script as its header and the docs show (npx tsx bench/...). */
const run = (script: string, args: string[]) => runTsx(script, args);

const SCRIPTS = [
  'bench/run-all.ts',
  'bench/cluster.ts',
  'bench/reload.ts',
  'bench/soak.ts',
  'bench/wait-replicas.ts',
  'bench/failover-cluster.ts',
  'bench/store-cost.ts',
  'bench/ordering-commands.ts',
  'bench/document-store.ts',
];

describe('bench scripts given a wrong command line', () => {
  it('say what was wrong and how to see the options, exit 2, and start nothing', async () => {
    const results = await Promise.all(SCRIPTS.map((script) => run(script, ['--bogus'])));
    for (const [i, { code, err }] of results.entries()) {
      expect({ script: SCRIPTS[i], code }).toEqual({ script: SCRIPTS[i], code: 2 });
      expect(err).toMatch(/--help` to see its options/);
      expect(err).not.toMatch(/^\s+at /m);
    }
  }, 60_000);

  it('name a number out of range with the option', async () => {
    const { code, err } = await run('bench/cluster.ts', ['--rate', 'fast']);
    expect(code).toBe(2);
    expect(err).toContain('bench:cluster: --rate must be a whole number of at least 1, not "fast"');
  }, 30_000);

  it('print every option with its default on --help, and exit 0', async () => {
    const { code, out } = await run('bench/cluster.ts', ['--help']);
    expect(code).toBe(0);
    expect(out).toMatch(/^usage: npm run bench:cluster -- \[options\]/);
    for (const option of ['--modes X', '--docs X', '--rate N', '--peak-rate N', '--fault X'])
      expect(out).toContain(option);
    expect(out).toContain('(default 1,100,10000)');
  }, 30_000);
});
