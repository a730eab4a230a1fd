/**
 * `npx tsx bench/leave-memory.ts`: what one user's work costs a Flow process
 * in memory once the user left. One process with the in-memory services runs
 * in this process (so that the figures come after a full GC); a client
 *
 * 1. sends 2,000 op messages of about 47 KB each (3 entities of 15 KB, over
 *    200 entity ids, so the document stays under DOC_MAX_BYTES) to one
 *    document, then leaves and closes;
 * 2. joins and leaves 2,000 document ids it never edits.
 *
 * It prints RSS and heap before, at the peak and after each part (after the
 * feed's 2 s linger and a full GC), next to what the documents' content
 * needs: the edited document's JSON and the history it keeps for catch-up
 * (HISTORY_LENGTH events), and how many never-edited documents are left.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import pino from 'pino';
import WebSocket from 'ws';
import { startFlow } from '../src/app/flow-process';
import { configFrom } from '../src/config';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const OPS = 2000;
const HISTORY_LENGTH = Number(process.env.BENCH_HISTORY ?? 1000);
const BLANK_DOCS = 2000;
const ENTITY_PAD = 15_000;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

function measure(): { rss: number; heap: number } {
  gc();
  gc();
  const { rss, heapUsed } = process.memoryUsage();
  return { rss, heap: heapUsed };
}

async function connect(
  url: string,
): Promise<{ ws: WebSocket; next: (type: string) => Promise<unknown> }> {
  const ws = new WebSocket(url);
  const waiting: Array<{ type: string; resolve: (m: unknown) => void }> = [];
  ws.on('message', (data) => {
    const message = JSON.parse(String(data)) as { type: string; code?: string; message?: string };
    if (message.type === 'error') throw new Error(`${message.code}: ${message.message}`);
    const at = waiting.findIndex((w) => w.type === message.type);
    if (at >= 0) waiting.splice(at, 1)[0]?.resolve(message);
  });
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  const next = (type: string) => new Promise<unknown>((resolve) => waiting.push({ type, resolve }));
  return { ws, next };
}

async function main(): Promise<void> {
  const config = configFrom({
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: 'silent',
    DOCUMENT_STORE: 'none',
    HISTORY_LENGTH: String(HISTORY_LENGTH),
    WS_MAX_PAYLOAD_BYTES: '65536',
    LIMIT_JOINS_PER_SECOND: '100000',
    LIMIT_DOCS_PER_CONNECTION: '100000',
    LIMIT_NEW_DOCS_PER_MINUTE: '100000',
    LIMIT_MESSAGES_PER_SECOND: '100000',
    LIMIT_MESSAGE_BURST: '100000',
  });
  const flow = await startFlow(config, 'all', { log: pino({ level: 'silent' }) });
  const url = `ws://127.0.0.1:${flow.port}/ws`;
  const rows: Array<[string, { rss: number; heap: number }]> = [];
  try {
    rows.push(['before', measure()]);

    const writer = await connect(url);
    const doc = `leave-memory-${process.pid}`;
    writer.ws.send(JSON.stringify({ type: 'join', doc }));
    await writer.next('joined');
    const pad = 'x'.repeat(ENTITY_PAD);
    let bytesSent = 0;
    for (let cseq = 1; cseq <= OPS; cseq++) {
      const ops = [0, 1, 2].map((k) => ({
        op: 'set',
        coll: 'nodes',
        id: `n${(cseq * 3 + k) % 200}`,
        value: { cseq, pad },
      }));
      const frame = JSON.stringify({ type: 'op', doc, cseq, ops });
      bytesSent += frame.length;
      const acked = writer.next('ack');
      writer.ws.send(frame);
      await acked;
    }
    const { rss: peakRss, heapUsed: peakHeap } = process.memoryUsage();
    rows.push([
      `after ${OPS} op messages (${mb(bytesSent)} sent), joined`,
      { rss: peakRss, heap: peakHeap },
    ]);
    writer.ws.send(JSON.stringify({ type: 'leave', doc }));
    await writer.next('left');
    writer.ws.close();
    await sleep(3000);
    rows.push(['writer left (+3 s, GC)', measure()]);
    const snapshot = (await (await fetch(`http://127.0.0.1:${flow.port}/docs/${doc}`)).json()) as {
      state: unknown;
    };
    const stateBytes = JSON.stringify(snapshot.state).length;
    const historyBytes = Math.min(OPS, HISTORY_LENGTH) * (bytesSent / OPS);

    const churn = await connect(url);
    const blank = Array.from({ length: BLANK_DOCS }, (_, i) => `leave-blank-${process.pid}-${i}`);
    for (const id of blank) {
      churn.ws.send(JSON.stringify({ type: 'join', doc: id }));
      await churn.next('joined');
      churn.ws.send(JSON.stringify({ type: 'leave', doc: id }));
      await churn.next('left');
    }
    churn.ws.close();
    await sleep(3000);
    rows.push([`${BLANK_DOCS} never-edited documents joined and left (+3 s, GC)`, measure()]);
    let left = 0;
    for (const id of blank.slice(0, 200)) {
      if ((await fetch(`http://127.0.0.1:${flow.port}/docs/${id}`)).status === 200) left++;
    }

    console.log('| moment | RSS | heap used |');
    console.log('| --- | ---: | ---: |');
    for (const [name, m] of rows) console.log(`| ${name} | ${mb(m.rss)} | ${mb(m.heap)} |`);
    console.log('');
    console.log(
      `edited document: state ${mb(stateBytes)}, kept history ~${mb(historyBytes)} (HISTORY_LENGTH ${HISTORY_LENGTH})`,
    );
    console.log(`never-edited documents still held: ${left} of the 200 checked`);
  } finally {
    await flow.close();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
