import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config';
import { loadDemoAssets } from '../../src/gateway/demo-assets';
import { startTestServer } from '../support/test-server';

const ROOT = path.resolve(__dirname, '../..');

describe('SERVE_DEMO', () => {
  it('is on when unset, off when NODE_ENV=production is set, and what it says when given', () => {
    expect(loadConfig({}).serveDemo).toBe(true);
    expect(loadConfig({ NODE_ENV: 'development' }).serveDemo).toBe(true);
    expect(loadConfig({ NODE_ENV: 'production' }).serveDemo).toBe(false);
    expect(loadConfig({ NODE_ENV: 'production', SERVE_DEMO: 'true' }).serveDemo).toBe(true);
    expect(loadConfig({ SERVE_DEMO: 'false' }).serveDemo).toBe(false);
  });
});

describe('demo assets', () => {
  let dir: string;
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('are the files of known types directly in the directory, nothing else', () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'flow-demo-assets-'));
    writeFileSync(path.join(dir, 'index.html'), '<p>hi</p>');
    writeFileSync(path.join(dir, 'app.js'), 'x');
    writeFileSync(path.join(dir, 'app.js.map'), '{}');
    mkdirSync(path.join(dir, 'nested.js'));
    const assets = loadDemoAssets(dir);
    expect([...assets.keys()].sort()).toEqual(['app.js', 'index.html']);
    expect(assets.get('index.html')?.contentType).toBe('text/html; charset=utf-8');
    expect(assets.get('app.js')?.contentType).toBe('text/javascript; charset=utf-8');
  });
});

describe('the gateway serves the demo page', () => {
  beforeAll(() => {
    execFileSync(process.execPath, [path.join(ROOT, 'scripts/build-bundles.mjs')], { cwd: ROOT });
  }, 60_000);

  it('at / and /demo/, with its script and style, and no other file', async () => {
    const server = await startTestServer({ NODE_ENV: 'test' });
    try {
      const get = (url: string) => fetch(`${server.http}${url}`);
      for (const url of ['/', '/demo', '/demo/', '/?doc=team-1']) {
        const res = await get(url);
        expect(res.status, url).toBe(200);
        expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
        expect(await res.text()).toContain('<script type="module" src="/demo/app.js">');
      }
      const script = await get('/demo/app.js');
      expect(script.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
      // The page must stay small: it is a demo of the server.
      expect((await script.arrayBuffer()).byteLength).toBeLessThan(100 * 1024);
      expect((await get('/demo/style.css')).headers.get('content-type')).toBe(
        'text/css; charset=utf-8',
      );
      for (const url of ['/demo/nope.js', '/demo/%2e%2e/package.json', '/demo/main.ts']) {
        const res = await get(url);
        expect(res.status, url).toBe(404);
        expect(await res.json()).toMatchObject({ error: 'NOT_FOUND' });
      }
    } finally {
      await server.close();
    }
  });

  it('not when SERVE_DEMO=false: / is the JSON 404 of any unknown route', async () => {
    const server = await startTestServer({ SERVE_DEMO: 'false' });
    try {
      for (const url of ['/', '/demo/app.js']) {
        const res = await fetch(`${server.http}${url}`);
        expect(res.status).toBe(404);
        expect(await res.json()).toMatchObject({ error: 'NOT_FOUND' });
      }
    } finally {
      await server.close();
    }
  });
});

describe('sizes in the README', () => {
  it('are what npm run size measures (within 15 %, so that a small change does not fail it)', () => {
    const out = execFileSync(process.execPath, [path.join(ROOT, 'scripts/sdk-size.mjs')], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8').replace(/\s+/g, ' ');
    const measured = [...out.matchAll(/([\d.]+) KB minified, ([\d.]+) KB gzipped/g)];
    expect(measured).toHaveLength(2);
    const stated = [
      /it is ([\d.]+) KB minified, ([\d.]+) KB gzipped/.exec(readme),
      /\(([\d.]+) KB of JavaScript minified, ([\d.]+) KB gzipped/.exec(readme),
    ];
    measured.forEach((match, i) => {
      const claim = stated[i];
      expect(claim, `README states the size of ${i === 0 ? 'the SDK' : 'the demo'}`).toBeTruthy();
      for (const k of [1, 2]) {
        const ratio = Number(claim?.[k]) / Number(match[k]);
        expect(ratio).toBeGreaterThan(0.85);
        expect(ratio).toBeLessThan(1.15);
      }
    });
  });
});
