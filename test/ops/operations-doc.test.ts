import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import packageJson from '../../package.json';
import { configFrom, describeConfig } from '../../src/config';
import { EVICTION_POLICY_MESSAGE } from '../../src/redis/connection';
import { ConnectionMessages } from '../../src/redis/connection-log';
import { SLOW_COMMAND_MESSAGE, TRACE_COMMAND_MESSAGE } from '../../src/redis/instrument';

/**
 * docs/operations.md stays true to the product: the log lines it quotes are
 * the ones the code logs, and the scripts, variables and files it names exist.
 */
const ROOT = path.resolve(__dirname, '../..');
const doc = readFileSync(path.join(ROOT, 'docs', 'operations.md'), 'utf8');

/** Variables of the product, and of the tools around it that the guide names. */
const known = new Set([
  ...describeConfig(configFrom({})).map((entry) => entry.env),
  'GATEWAY_INSTANCES',
  'WORKER_INSTANCES',
  'PM2_CONCURRENT_ACTIONS',
  'PM2_HOME',
  'NODE_EXTRA_CA_CERTS',
  // Read by the frame fuzzer (test/fuzz), not by the server.
  ...['FUZZ_RUNS', 'FUZZ_FRAMES', 'FUZZ_PARALLEL', 'FUZZ_BATCH_FRAMES', 'FUZZ_SEED'],
]);

describe('docs/operations.md', () => {
  it('quotes every operator line of the Redis connection, verbatim', () => {
    for (const line of [
      ...Object.values(ConnectionMessages),
      SLOW_COMMAND_MESSAGE,
      TRACE_COMMAND_MESSAGE,
      EVICTION_POLICY_MESSAGE,
    ]) {
      expect(doc, line).toContain(line);
    }
  });

  it("answers each symptom of the guide's troubleshooting table", () => {
    for (const symptom of [
      'Error: connect ECONNREFUSED 127.0.0.1:6379',
      'Error: ERR AUTH <password> called without any password configured',
      "Error: OOM command not allowed when used memory > 'maxmemory'",
      'Warning: Redis operation took longer than expected',
    ]) {
      expect(doc).toContain(symptom);
    }
    expect(doc).toContain('DEBUG=');
    expect(doc).toContain('NODE_ENV=development');
    expect(doc).toContain('curl http://localhost:3001/health');
    expect(doc).toContain('curl http://localhost:3001/ws/stats');
    expect(doc).toContain('pm2 restart backend');
    expect(doc).toContain('maxmemory-policy noeviction');
  });

  it('names only npm scripts that package.json has', () => {
    const scripts = packageJson.scripts as Record<string, string>;
    const named = new Set([...doc.matchAll(/\bnpm run ([\w:-]+)/g)].map((m) => m[1] as string));
    expect(named.size).toBeGreaterThan(3);
    expect([...named].filter((name) => !(name in scripts))).toEqual([]);
  });

  it('sets only variables that exist', () => {
    const set = new Set(
      [...doc.matchAll(/(?:^|[\s`(])([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)=/gm)].map(
        (m) => m[1] as string,
      ),
    );
    expect(set.size).toBeGreaterThan(10);
    expect([...set].filter((name) => !known.has(name))).toEqual([]);
  });

  it('names only files of the project that exist', () => {
    const spans = [...doc.matchAll(/`([^`\s]+)`/g)].map((m) => m[1] as string);
    const paths = spans.filter(
      (s) =>
        /^(src|test|scripts|grafana)\/[\w./-]+$/.test(s) ||
        [
          'ecosystem.config.js',
          'docker-compose.cluster.yml',
          'Dockerfile',
          '.env.development',
        ].includes(s),
    );
    expect(paths.length).toBeGreaterThan(4);
    expect(paths.filter((p) => !existsSync(path.join(ROOT, p)))).toEqual([]);
  });
});
