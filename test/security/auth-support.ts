import { Writable } from 'node:stream';
import { SignJWT, generateKeyPair } from 'jose';
import pino from 'pino';
import WebSocket from 'ws';
import { configFrom } from '../../src/config';
import { startFlow, type FlowProcess } from '../../src/app/flow-process';

/** The HS256 secret every auth test server is started with. */
export const SECRET = 'security-test-secret-that-is-long-enough-for-hs256';
const KEY = new TextEncoder().encode(SECRET);

export interface Claims {
  sub?: string;
  docs?: unknown;
  /** Seconds from now; null leaves `exp` out. */
  expiresInS?: number | null;
}

/** An HS256 token signed with SECRET; any claim can be left out or made invalid. */
export function hs256(claims: Claims, alg: 'HS256' | 'HS384' | 'HS512' = 'HS256'): Promise<string> {
  const { sub = 'user-1', docs, expiresInS = 3600 } = claims;
  const jwt = new SignJWT(docs === undefined ? {} : { docs: docs as Record<string, unknown> });
  jwt.setProtectedHeader({ alg }).setIssuedAt();
  if (sub !== '') jwt.setSubject(sub);
  if (expiresInS !== null) jwt.setExpirationTime(Math.floor(Date.now() / 1000) + expiresInS);
  return jwt.sign(KEY);
}

const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** An unsigned token (`alg: none`) with valid-looking claims. */
export function algNone(docs: Record<string, string>): string {
  const exp = Math.floor(Date.now() / 1000) + 3600;
  return `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url({ sub: 'mallory', exp, docs })}.`;
}

/** A token signed RS256 with a fresh key pair the server has never seen. */
export async function rs256(docs: Record<string, string>): Promise<string> {
  const { privateKey } = await generateKeyPair('RS256');
  return new SignJWT({ docs })
    .setProtectedHeader({ alg: 'RS256' })
    .setSubject('mallory')
    .setExpirationTime('1h')
    .sign(privateKey);
}

/** The HTTP status of a WebSocket upgrade: 101 when it opened (and is closed again). */
export function upgradeStatus(url: string): Promise<number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url);
    ws.on('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      res.resume();
      ws.terminate();
    });
    ws.on('error', () => resolve(-1));
    ws.on('open', () => {
      ws.close();
      resolve(101);
    });
  });
}

export type LoggedServer = FlowProcess & {
  url: string;
  http: string;
  /** Every raw line the process logged, at trace level. */
  logText(): string;
};

/**
 * A Flow process whose pino logger writes raw JSON lines, at the most verbose
 * level, into memory: tests read exactly what an operator's log would hold.
 */
export async function startLoggedServer(vars: Record<string, string>): Promise<LoggedServer> {
  const chunks: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      chunks.push(String(chunk));
      done();
    },
  });
  const config = configFrom({ HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'trace', ...vars });
  const flow = await startFlow(config, 'all', { log: pino({ level: 'trace' }, sink) });
  return Object.assign(flow, {
    url: `ws://127.0.0.1:${flow.port}/ws`,
    http: `http://127.0.0.1:${flow.port}`,
    logText: () => chunks.join(''),
  });
}
