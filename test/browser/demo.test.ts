import { execFileSync } from 'node:child_process';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { startFlowChild, type FlowChild } from '../support/flow-processes';
import { useRedisServers } from '../support/redis-harness';
import { flagEnv, redisEnv } from '../support/redis-env';
import { randomDoc } from '../support/test-server';
import { Balancer } from './balancer';
import { launchChromium, screenshotPath } from './chromium';
import { DemoPage } from './demo-page';
import { StoreStandIn } from './store-stand-in';

/**
 * The demo page in real Chromium: two browser contexts on one document,
 * through two gateways in Redis mode, edit together; a gateway killed under
 * them loses no acknowledged change; the page says when it is offline.
 */
const servers = useRedisServers();
const ROOT = path.resolve(__dirname, '../..');

describe('the demo page in Chromium', () => {
  let browser: Browser;
  const cleanups: Array<() => Promise<unknown>> = [];

  beforeAll(async () => {
    // The gateways run from the sources and serve the page from dist/demo.
    execFileSync(process.execPath, [path.join(ROOT, 'scripts/build-bundles.mjs')], { cwd: ROOT });
    browser = await launchChromium();
  }, 60_000);

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
  });

  afterAll(async () => {
    await browser?.close();
  });

  async function gateways(count: number): Promise<FlowChild[]> {
    const env = {
      ...redisEnv(servers.addresses, 'single'),
      ...flagEnv({ websockets: true, collaboration: true, eventOrdering: false }),
      NODE_ENV: 'test',
    };
    const started = await Promise.all(
      Array.from({ length: count }, (_, i) =>
        startFlowChild('gateway', { ...env, NODE_ID: `gw-${i + 1}` }),
      ),
    );
    for (const gateway of started) cleanups.push(() => gateway.kill('SIGKILL'));
    onTestFailed(() => {
      for (const gateway of started)
        console.error(`[${gateway.url}] log:\n${gateway.lines.join('\n')}`);
    });
    return started;
  }

  async function open(base: string, doc: string, name: string): Promise<DemoPage> {
    const page = await DemoPage.open(browser, base, doc, name);
    cleanups.push(() => page.close());
    onTestFailed(() =>
      console.error(
        `[${name}] what the page sent, received and logged:\n${page.transcript.join('\n')}`,
      ),
    );
    return page;
  }

  it('two windows through two gateways add, drag, connect and delete nodes and see each other', async () => {
    const [one, two] = (await gateways(2)) as [FlowChild, FlowChild];
    const doc = randomDoc('team');
    const alice = await open(one.http, doc, 'Alice');
    const bob = await open(two.http, doc, 'Bob');

    // These gateways have no document store: no savedSeq, so no saved indicator.
    expect(await alice.page.locator('#saved').isHidden()).toBe(true);

    const first = await alice.addNode();
    await bob.node(first).waitFor();
    const second = await bob.addNode();
    await alice.node(second).waitFor();

    await alice.drag(first, 120, 180);
    const moved = (await alice.settled()).nodes?.[first];
    await expect.poll(async () => (await bob.document()).state.nodes?.[first]).toEqual(moved);

    await alice.connect(first, second);
    await bob.page.locator('#canvas .edge').waitFor();
    await bob.rename(second, 'Review');
    await expect.poll(async () => alice.node(second).locator('text').textContent()).toBe('Review');

    // Presence: Alice's cursor and name on Bob's canvas, both in each other's list.
    await alice.page.mouse.move(500, 300);
    await bob.page.locator('#canvas .cursor', { hasText: 'Alice' }).waitFor();
    await expect.poll(() => bob.page.locator('#people').textContent()).toContain('Alice');
    await expect.poll(() => alice.page.locator('#people').textContent()).toContain('Bob');
    await alice.screenshot(screenshotPath('two-gateways-alice'));
    await bob.screenshot(screenshotPath('two-gateways-bob'));

    // Deleting a node takes its edges along, in both windows.
    await bob.select(first);
    await bob.deleteSelected();
    await expect.poll(() => alice.nodes().count()).toBe(1);
    await expect.poll(() => alice.page.locator('#canvas .edge').count()).toBe(0);

    const [a, b] = [await alice.settled(), await bob.settled()];
    expect(a).toEqual(b);
    expect(Object.keys(a.nodes ?? {})).toEqual([second]);
    expect(a.edges ?? {}).toEqual({});
    const server = (await (await fetch(`${one.http}/docs/${doc}`)).json()) as { state: unknown };
    expect(server.state).toEqual(a);
  }, 90_000);

  it('a gateway killed under both windows: they reconnect to another and converge, no acknowledged change lost', async () => {
    const [one, two] = (await gateways(2)) as [FlowChild, FlowChild];
    const balancer = await Balancer.start(one.port);
    cleanups.push(() => balancer.close());
    const doc = randomDoc('failover');
    const alice = await open(balancer.http, doc, 'Alice');
    const bob = await open(balancer.http, doc, 'Bob');

    const acked: string[] = [];
    for (let i = 0; i < 3; i++) acked.push(await alice.addNode(), await bob.addNode());
    await alice.drag(acked[0] as string, 200, 40);
    await Promise.all([alice.settled(), bob.settled()]);
    const before = await alice.document();

    balancer.retarget(two.port);
    await one.kill('SIGKILL');
    // Edits while the connection is down stay pending and go out after the re-join.
    const offline = await alice.addNode();
    await bob.waitForStatus('connected');
    await alice.waitForStatus('connected');

    // Bob settles (nothing of his pending) before Alice's offline edit may have reached
    // him: his state is read once it equals hers, not at his settle.
    const a = await alice.settled();
    expect(Object.keys(a.nodes ?? {}).sort()).toEqual([...acked, offline].sort());
    await bob.settled();
    await expect.poll(async () => (await bob.document()).state).toEqual(a);
    const b = (await bob.document()).state;
    expect(Object.keys(b.nodes ?? {}).sort()).toEqual([...acked, offline].sort());
    expect(b.nodes?.[acked[0] as string]).toEqual(before.state.nodes?.[acked[0] as string]);
    expect((await alice.document()).seq).toBeGreaterThan(before.seq);
    const server = (await (await fetch(`${two.http}/docs/${doc}`)).json()) as { state: unknown };
    expect(server.state).toEqual(a);
    await bob.screenshot(screenshotPath('failover-bob'));
  }, 90_000);

  it('shows "offline" while the server is down and recovers when it is back', async () => {
    const first = await startFlowChild('all', { NODE_ENV: 'test' });
    cleanups.push(() => first.kill('SIGKILL'));
    // The page keeps one address; the balancer stands for it across the restart (the
    // killed process's port stays in TIME_WAIT for a while).
    const balancer = await Balancer.start(first.port);
    cleanups.push(() => balancer.close());
    const page = await open(balancer.http, randomDoc('offline'), 'Alice');
    await page.addNode();
    await page.settled();

    await first.kill('SIGKILL');
    await page.waitForStatus('reconnecting', 5_000);
    await page.waitForStatus('offline');
    await page.screenshot(screenshotPath('offline'));

    const again = await startFlowChild('all', { NODE_ENV: 'test' });
    cleanups.push(() => again.kill('SIGKILL'));
    balancer.retarget(again.port);
    await page.waitForStatus('connected');
    await page.addNode();
    await page.settled();
    expect(await page.status()).toBe('connected');
    await page.screenshot(screenshotPath('offline-recovered'));
  }, 90_000);

  it('says "All changes saved" once a server with a document store reports the seq saved', async () => {
    const standIn = await StoreStandIn.start();
    cleanups.push(() => standIn.close());
    const doc = randomDoc('saved');
    const page = await open(standIn.http, doc, 'Alice');
    const saved = page.page.locator('#saved');
    await expect.poll(() => saved.textContent()).toBe('All changes saved');

    await page.addNode();
    await page.settled();
    // Applied (seq 1) but not yet in storage.
    await expect.poll(() => saved.textContent()).toBe('Saving…');
    standIn.save(doc);
    await expect.poll(() => saved.textContent()).toBe('All changes saved');
    expect(await saved.isVisible()).toBe(true);
    await page.screenshot(screenshotPath('saved'));
  }, 60_000);
});
