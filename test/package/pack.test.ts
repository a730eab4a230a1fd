import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomDoc, startTestServer } from '../support/test-server';

/**
 * The package as a user gets it: `npm pack`, installed from the tarball in a
 * fresh folder, then `flow-realtime/client` imported as an ES module, as
 * CommonJS and by a browser bundler, which must leave the `ws` package out.
 */
const ROOT = path.resolve(__dirname, '../..');
const run = promisify(execFile);

/** Joins `doc`, adds one node and prints the seq and state the SDK ends with. */
const script = (importLine: string) => `${importLine}
const [url, doc] = process.argv.slice(2);
const client = new FlowClient({ url });
client.join(doc).then(async (handle) => {
  const { seq } = await handle.submit([{ op: 'set', coll: 'nodes', id: 'n1', value: { x: 1 } }]);
  console.log(JSON.stringify({ seq, state: handle.state }));
  client.close();
});
`;

describe('the npm package, installed from its tarball', () => {
  let dir: string;
  let app: string;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'flow-pack-'));
    app = path.join(dir, 'app');
    mkdirSync(app);
    // dist/ is built by `npm ci` (prepare); refresh the bundles the sources may have changed.
    execFileSync(process.execPath, [path.join(ROOT, 'scripts/build-bundles.mjs')], { cwd: ROOT });
    await run('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', dir], {
      cwd: ROOT,
    });
    const tarball = readdirSync(dir).find((f) => f.endsWith('.tgz'));
    writeFileSync(path.join(app, 'package.json'), '{ "name": "pack-check", "private": true }\n');
    await run(
      'npm',
      ['install', path.join(dir, tarball as string), '--ignore-scripts', '--prefer-offline'].concat(
        ['--no-audit', '--no-fund', '--silent'],
      ),
      { cwd: app },
    );
    writeFileSync(
      path.join(app, 'esm.mjs'),
      script("import { FlowClient } from 'flow-realtime/client';"),
    );
    writeFileSync(
      path.join(app, 'cjs.cjs'),
      script("const { FlowClient } = require('flow-realtime/client');"),
    );
  }, 180_000);

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it.each(['esm.mjs', 'cjs.cjs'])(
    '%s: imports the SDK and edits a document on a server',
    async (file) => {
      const server = await startTestServer();
      try {
        const doc = randomDoc('pack');
        const { stdout } = await run(process.execPath, [file, server.url, doc], { cwd: app });
        expect(JSON.parse(stdout)).toEqual({ seq: 1, state: { nodes: { n1: { x: 1 } } } });
      } finally {
        await server.close();
      }
    },
    30_000,
  );

  it('a browser bundle takes the browser build, without the ws package', async () => {
    const entry = path.join(app, 'browser-entry.js');
    writeFileSync(
      entry,
      "import { FlowClient } from 'flow-realtime/client';\nconsole.log(FlowClient);\n",
    );
    const result = await build({
      entryPoints: [entry],
      absWorkingDir: app,
      bundle: true,
      platform: 'browser',
      format: 'esm',
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs).toContain('node_modules/flow-realtime/dist/client/browser.mjs');
    expect(inputs.filter((input) => input.includes('node_modules/ws/'))).toEqual([]);
  });
});
