import { execFile } from 'node:child_process';
import { existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import packageJson from '../../package.json';
import { schema } from '../../src/config/schema/index';
import { CloseCodes, ErrorCodes } from '../../src/protocol/errors';
import { startTestServer } from '../support/test-server';
import { ROOT, codeBlocks, codeSpans, readDoc, section, tables } from './markdown';
import { SDK_IMPORT, typeCheckExamples } from './typecheck';

const runFile = promisify(execFile);

/**
 * The documentation stays true to the code: every error code, close code and
 * environment variable is documented, every command the README names exists,
 * and the code examples compile (the README's SDK example also runs).
 */

const readme = readDoc('README.md');
const protocol = readDoc('docs/protocol.md');
const configuration = readDoc('docs/configuration.md');
const sdk = readDoc('docs/sdk.md');

/** Every environment variable of the configuration schema. */
function schemaVariables(node: object = schema): string[] {
  const names: string[] = [];
  for (const child of Object.values(node) as unknown[]) {
    if (typeof child !== 'object' || child === null) continue;
    if ('env' in child) names.push(String((child as { env: unknown }).env));
    else names.push(...schemaVariables(child));
  }
  return names;
}

/** The first-column code spans of the tables in `text` whose first header cell is `header`. */
function firstColumn(text: string, header: string): string[] {
  return tables(text)
    .filter((table) => table.header[0] === header)
    .flatMap((table) => table.rows.flatMap((row) => [...codeSpans(row[0] ?? '')]));
}

describe('docs/protocol.md', () => {
  it('has every error code of src/protocol/errors.ts in its error table, and no other', () => {
    const documented = firstColumn(section(protocol, /Errors$/), 'code');
    expect([...documented].sort()).toEqual(Object.values(ErrorCodes).sort());
  });

  it('has every close code of CloseCodes in its close code table, and no other', () => {
    const rows = tables(section(protocol, /Close codes$/))
      .filter((table) => table.header[0] === 'code')
      .flatMap((table) => table.rows.map((row) => Number(row[0])));
    const byValue = (a: number, b: number) => a - b;
    expect([...rows].sort(byValue)).toEqual(Object.values(CloseCodes).sort(byValue));
  });
});

describe('docs/configuration.md', () => {
  const variables = schemaVariables();

  it('documents every environment variable of src/config/schema/', () => {
    const documented = new Set(firstColumn(configuration, 'variable'));
    const missing = variables.filter((name) => !documented.has(name));
    expect(missing).toEqual([]);
  });

  it('documents no variable that the schema does not have', () => {
    const unknown = firstColumn(configuration, 'variable').filter((n) => !variables.includes(n));
    expect(unknown).toEqual([]);
  });

  it('names only variables of the schema in the README configuration table', () => {
    const table = section(readme, /^## Configuration$/);
    const named = firstColumn(table, 'variable');
    expect(named.length).toBeGreaterThan(5);
    expect(named.filter((n) => !variables.includes(n))).toEqual([]);
  });
});

describe('README.md', () => {
  const scripts = packageJson.scripts as Record<string, string>;

  it('names only npm scripts that package.json has', () => {
    const named = new Set<string>();
    for (const match of readme.matchAll(/\bnpm run ([\w:-]+)/g)) named.add(match[1] as string);
    for (const match of readme.matchAll(/\bnpm (start|test|stop|restart)\b/g))
      named.add(match[1] as string);
    expect(named.size).toBeGreaterThan(10);
    expect([...named].filter((name) => !(name in scripts))).toEqual([]);
  });

  it('names test files that exist', () => {
    const files = [...readme.matchAll(/npm test -- ([\w.-]+)/g)].map((m) => m[1] as string);
    expect(files).toContain('redis-integration.test.ts');
    const all = readdirSync(path.join(ROOT, 'test'), { recursive: true }).map(String);
    for (const file of files) expect(all.some((f) => path.basename(f) === file)).toBe(true);
  });

  it('links only to documents of the project that exist or are part of it', () => {
    const expected = new Set(['BENCHMARKS.md', 'docs/operations.md']);
    for (const match of readme.matchAll(/\]\(([^)#]+)(#[^)]*)?\)/g)) {
      const target = match[1] as string;
      if (/^https?:/.test(target) || expected.has(target)) continue;
      expect(existsSync(path.join(ROOT, target)), target).toBe(true);
    }
  });
});

describe('paths named in the docs', () => {
  it.each([
    'README.md',
    'docs/protocol.md',
    'docs/configuration.md',
    'docs/sdk.md',
    'docs/architecture.md',
  ])('%s names only source and test files that exist', (file) => {
    const named = [...codeSpans(readDoc(file))].filter((span) =>
      /^(src|test)\/[\w./-]+$/.test(span),
    );
    expect(named.filter((p) => !existsSync(path.join(ROOT, p)))).toEqual([]);
  });
});

/** The TypeScript examples that import the SDK: they must compile. */
function sdkExamples(markdown: string): string[] {
  return codeBlocks(markdown)
    .filter((b) => b.lang === 'ts' && b.code.includes(`from '${SDK_IMPORT}'`))
    .map((b) => b.code);
}

describe('code examples', () => {
  it('type-check against the SDK (README.md and docs/sdk.md)', () => {
    const examples: Record<string, string> = {};
    sdkExamples(readme).forEach((code, i) => (examples[`readme-${i + 1}`] = code));
    sdkExamples(sdk).forEach((code, i) => (examples[`sdk-${i + 1}`] = code));
    expect(Object.keys(examples).length).toBeGreaterThanOrEqual(5);
    expect(typeCheckExamples(examples)).toEqual([]);
  }, 60_000);

  it('the README SDK example runs as written, saved as a .ts file in the repository and run with npx tsx', async () => {
    const [example] = sdkExamples(readme);
    expect(example).toContain("'ws://localhost:3001/ws'");
    expect(readme).toContain('npx tsx example.ts');
    const server = await startTestServer();
    // Beside package.json, as a user saves it (a CommonJS package, with flow-realtime/client
    // resolving to the package itself); a name of its own so that no user file is touched.
    const file = path.join(ROOT, `example-${process.pid}-${Date.now()}.ts`);
    try {
      writeFileSync(
        file,
        (example as string).replace("'ws://localhost:3001/ws'", JSON.stringify(server.url)),
      );
      const { stdout } = await runFile('npx', ['tsx', path.basename(file)], { cwd: ROOT });
      const logged = stdout.split('\n');
      expect(logged).toContain('applied as event 1');
      expect(logged.some((line) => line.startsWith('local'))).toBe(true);
      const doc = (await (await fetch(`${server.http}/docs/flow-1`)).json()) as unknown;
      expect(doc).toMatchObject({
        seq: 2,
        state: {
          nodes: { n1: { x: 40, label: 'Start' }, n2: { x: 200, label: 'End' } },
          edges: { e1: { from: 'n1', to: 'n2' } },
        },
      });
    } finally {
      rmSync(file, { force: true });
      await server.close();
    }
  }, 60_000);
});
