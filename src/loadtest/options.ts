import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { MIN_OP_SIZE } from './ops';
import { parseFault, type FaultSpec } from './faults';

export const USAGE = `usage: flow-loadtest --url ws://HOST:PORT/ws [--url ...] [options]
       npm run loadtest -- --url ws://127.0.0.1:3001/ws --clients 200 --docs 20 --rate 5000

Drives WebSocket clients against Flow gateways at a fixed offered rate (open
loop), measures ack and fan-out latency, and checks the invariants of the
protocol (docs/protocol.md) at the end against GET /docs/:doc. Exit code 0
when the checker found nothing, 1 when it found anomalies, the run failed or
no gateway answers at a --url (checked first, within 5 s), 2 for bad usage.

  --url URL            gateway WebSocket URL (repeatable; clients are spread round-robin)
  --clients N          WebSocket clients (default 100)
  --docs N             documents (default 10)
  --members N          clients joined to each document (default clients/docs, at least 2)
  --rate N             op messages per second offered, all clients together (default 1000)
  --presence-rate N    presence updates per second offered, all clients together (default 0)
  --op-size BYTES      JSON size of the entity value of each op (default 100, at least ${MIN_OP_SIZE})
  --duration S         seconds measured at the full rate (default 10)
  --ramp-up S          seconds before that, the rate rising from 0 (default 2)
  --threads N          load generator worker threads (default 2)
  --drain-timeout S    seconds to wait for the answers of ops still in flight at the end (default 30)
  --fault "Ts:CMD"     run the shell command CMD T seconds after the ramp-up began (repeatable);
                       single-quote it so that $(...) is expanded then, not when you type it
  --store URL          also check the document store the server writes to: postgres://... or
                       the application's http(s)://... store; each document's snapshot must
                       reach the server's final seq and state
  --store-secret S     the shared secret of an http(s) store (DOCUMENT_STORE_SECRET)
  --store-wait S       seconds to wait for the store to catch up (default 30)
  --report FILE        write the report as JSON to FILE
  --progress           print a progress line every second (the default when stdout is a terminal)
  --no-progress        do not
  --run-id ID          prefix of document and client ids (default: random)
  --json               print the report as JSON on stdout instead of the summary table

The server limits messages per connection (LIMIT_MESSAGES_PER_SECOND, default
1000) and documents per connection (LIMIT_DOCS_PER_CONNECTION, default 100):
raise them, or use more clients, for a heavy run.`;

export interface LoadOptions {
  urls: string[];
  clients: number;
  docs: number;
  members: number;
  /** op messages per second, all clients together */
  rate: number;
  presenceRate: number;
  opSize: number;
  durationS: number;
  rampUpS: number;
  threads: number;
  drainTimeoutS: number;
  faults: FaultSpec[];
  report: string | undefined;
  /** The document store to compare with the server at the end (--store). */
  store?: { url: string; secret: string | undefined; waitS: number } | undefined;
  progress: boolean;
  json: boolean;
  runId: string;
}

export class UsageError extends Error {}

export function defaultRunId(): string {
  return randomBytes(3).toString('hex');
}

/** Options from the command line; `isTty` decides the default of --progress. */
export function parseOptions(argv: readonly string[], isTty: boolean): LoadOptions | 'help' {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: {
        url: { type: 'string', multiple: true, default: [] },
        clients: { type: 'string', default: '100' },
        docs: { type: 'string', default: '10' },
        members: { type: 'string' },
        rate: { type: 'string', default: '1000' },
        'presence-rate': { type: 'string', default: '0' },
        'op-size': { type: 'string', default: '100' },
        duration: { type: 'string', default: '10' },
        'ramp-up': { type: 'string', default: '2' },
        threads: { type: 'string', default: '2' },
        'drain-timeout': { type: 'string', default: '30' },
        fault: { type: 'string', multiple: true, default: [] },
        report: { type: 'string' },
        store: { type: 'string' },
        'store-secret': { type: 'string' },
        'store-wait': { type: 'string', default: '30' },
        progress: { type: 'boolean' },
        'no-progress': { type: 'boolean', default: false },
        'run-id': { type: 'string' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
      allowPositionals: false,
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const v = parsed.values;
  if (v.help) return 'help';
  if (v.url.length === 0) throw new UsageError('give at least one --url ws://HOST:PORT/ws');
  for (const url of v.url) {
    if (!/^wss?:\/\/[^/]+/.test(url))
      throw new UsageError(`--url must be a ws:// or wss:// URL, not "${url}"`);
  }
  const clients = int('clients', v.clients, 1, 100_000);
  const docs = int('docs', v.docs, 1, 1_000_000);
  const members =
    v.members === undefined
      ? Math.min(clients, Math.max(2, Math.floor(clients / docs)))
      : int('members', v.members, 1, clients);
  const runId = v['run-id'] ?? defaultRunId();
  if (!/^[A-Za-z0-9_-]{1,16}$/.test(runId))
    throw new UsageError('--run-id is 1-16 characters of A-Z a-z 0-9 _ -');
  return {
    urls: v.url,
    clients,
    docs,
    members,
    rate: num('rate', v.rate, 0, 10_000_000),
    presenceRate: num('presence-rate', v['presence-rate'], 0, 10_000_000),
    opSize: int('op-size', v['op-size'], MIN_OP_SIZE, 15_000),
    durationS: num('duration', v.duration, 0.1, 86_400),
    rampUpS: num('ramp-up', v['ramp-up'], 0, 3600),
    threads: Math.min(int('threads', v.threads, 1, 64), clients),
    drainTimeoutS: num('drain-timeout', v['drain-timeout'], 0, 3600),
    faults: v.fault.map((text) => {
      const fault = parseFault(text);
      if (!fault) throw new UsageError(`--fault takes "<seconds>s:<command>", not "${text}"`);
      return fault;
    }),
    report: v.report,
    store: storeOption(v.store, v['store-secret'], num('store-wait', v['store-wait'], 0, 3600)),
    progress: v['no-progress'] ? false : (v.progress ?? isTty),
    json: v.json,
    runId,
  };
}

function storeOption(
  url: string | undefined,
  secret: string | undefined,
  waitS: number,
): LoadOptions['store'] {
  if (url === undefined) {
    if (secret !== undefined) throw new UsageError('--store-secret needs --store');
    return undefined;
  }
  if (!/^(postgres|postgresql|https?):\/\//.test(url))
    throw new UsageError(
      `--store must be a postgres:// or http(s):// URL (an embedded file: store is private to its process), not "${url}"`,
    );
  return { url, secret, waitS };
}

function num(name: string, text: string, min: number, max: number): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || n < min || n > max)
    throw new UsageError(`--${name} must be a number from ${min} to ${max}, not "${text}"`);
  return n;
}

function int(name: string, text: string, min: number, max: number): number {
  const n = num(name, text, min, max);
  if (!Number.isInteger(n)) throw new UsageError(`--${name} must be a whole number, not "${text}"`);
  return n;
}
