import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { DocState } from '../../src/protocol';

/** The demo page in one browser context, and what the tests read from it. */
export class DemoPage {
  /** The page's WebSocket frames and console lines, in order: printed when a test fails. */
  readonly transcript: string[] = [];

  private constructor(
    readonly context: BrowserContext,
    readonly page: Page,
  ) {
    const note = (line: string): void => {
      const at = new Date().toISOString().slice(11, 23);
      this.transcript.push(`${at} ${line.length > 300 ? `${line.slice(0, 300)}…` : line}`);
    };
    page.on('console', (message) => note(`console.${message.type()} ${message.text()}`));
    page.on('websocket', (socket) => {
      note(`ws open ${socket.url()}`);
      socket.on('framesent', ({ payload }) => note(`> ${String(payload)}`));
      socket.on('framereceived', ({ payload }) => note(`< ${String(payload)}`));
      socket.on('close', () => note('ws closed'));
    });
  }

  static async open(browser: Browser, baseUrl: string, doc: string, name: string) {
    const context = await browser.newContext({ viewport: { width: 1100, height: 640 } });
    const page = await context.newPage();
    page.on('pageerror', (err) => console.error(`[${name}] page error`, err));
    const demo = new DemoPage(context, page);
    await page.goto(`${baseUrl}/?doc=${encodeURIComponent(doc)}&name=${encodeURIComponent(name)}`);
    await demo.waitForStatus('connected');
    await page.waitForFunction(() => 'flowDemo' in window);
    return demo;
  }

  async status(): Promise<string> {
    return (await this.page.locator('#status').textContent()) ?? '';
  }

  async waitForStatus(status: string, timeoutMs = 15_000): Promise<void> {
    await this.page.locator(`#status[data-state="${status}"]`).waitFor({ timeout: timeoutMs });
  }

  /** The document as the page's SDK sees it, with its count of unacknowledged op messages. */
  async document(): Promise<{ state: DocState; seq: number; pending: number; joined: boolean }> {
    return this.page.evaluate(() => {
      const { doc } = (window as unknown as { flowDemo: { doc: FlowDoc } }).flowDemo;
      return { state: doc.snapshot(), seq: doc.seq, pending: doc.pendingCount, joined: doc.joined };
      interface FlowDoc {
        snapshot(): DocState;
        seq: number;
        pendingCount: number;
        joined: boolean;
      }
    });
  }

  /** Waits until every op message of the page is acknowledged and it is joined. */
  async settled(timeoutMs = 15_000): Promise<DocState> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const doc = await this.document();
      if (doc.pending === 0 && doc.joined) return doc.state;
      if (Date.now() > deadline) throw new Error(`not settled: ${JSON.stringify(doc)}`);
      await this.page.waitForTimeout(50);
    }
  }

  nodes() {
    return this.page.locator('#canvas .node');
  }

  node(id: string) {
    return this.page.locator(`#canvas .node[data-id="${id}"]`);
  }

  async nodeIds(): Promise<string[]> {
    const doc = await this.document();
    return Object.keys(doc.state.nodes ?? {}).sort();
  }

  /** Clicks "Add node" and returns the new node's id: the page selects the node it added. */
  async addNode(): Promise<string> {
    const before = await this.page
      .locator('#canvas .node.selected')
      .getAttribute('data-id', { timeout: 100 })
      .catch(() => null);
    await this.page.locator('#add-node').click();
    const selected = this.page.locator('#canvas .node.selected');
    await selected.waitFor();
    const id = await selected.getAttribute('data-id');
    if (!id || id === before) throw new Error(`the page did not select a new node (${id})`);
    return id;
  }

  /** Drags a node by its box, in `steps` pointer moves, to move it by (dx, dy). */
  async drag(id: string, dx: number, dy: number, steps = 12): Promise<void> {
    const box = await this.node(id).locator('rect').boundingBox();
    if (!box) throw new Error(`node ${id} is not on the page`);
    const x = box.x + 30;
    const y = box.y + box.height / 2;
    await this.page.mouse.move(x, y);
    await this.page.mouse.down();
    await this.page.mouse.move(x + dx, y + dy, { steps });
    await this.page.mouse.up();
  }

  /** Drags from a node's port onto another node: an edge between them. */
  async connect(from: string, to: string): Promise<void> {
    const port = await this.node(from).locator('.port').boundingBox();
    const target = await this.node(to).locator('rect').boundingBox();
    if (!port || !target) throw new Error(`nodes ${from} and ${to} must be on the page`);
    await this.page.mouse.move(port.x + port.width / 2, port.y + port.height / 2);
    await this.page.mouse.down();
    await this.page.mouse.move(target.x + 40, target.y + target.height / 2, { steps: 8 });
    await this.page.mouse.up();
  }

  async select(id: string): Promise<void> {
    await this.node(id)
      .locator('rect')
      .click({ position: { x: 30, y: 10 } });
  }

  async rename(id: string, label: string): Promise<void> {
    await this.select(id);
    await this.page.locator('#label').fill(label);
    await this.page.locator('#label').press('Enter');
  }

  async deleteSelected(): Promise<void> {
    await this.page.locator('#delete').click();
  }

  async screenshot(path: string): Promise<void> {
    await this.page.screenshot({ path });
  }

  async close(): Promise<void> {
    await this.context.close();
  }
}
