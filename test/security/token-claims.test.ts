import { request } from 'node:http';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomDoc, startTestServer } from '../support/test-server';
import { TestClient } from '../support/ws-client';
import { SECRET } from './auth-support';

/**
 * PROTOCOL.md section 7: `sub` is a non-empty string of at most 256
 * characters, a future `nbf` is "not valid yet", and during a rotation the
 * previous secret (AUTH_JWT_SECRET_PREVIOUS) is accepted too.
 */
type Server = Awaited<ReturnType<typeof startTestServer>>;

const PREVIOUS = 'the-secret-being-rotated-out-long-enough-for-hs256';
let server: Server;

beforeAll(async () => {
  server = await startTestServer({ AUTH_JWT_SECRET: SECRET, AUTH_JWT_SECRET_PREVIOUS: PREVIOUS });
});
afterAll(async () => {
  await server.close();
});

function sign(claims: Record<string, unknown>, secret = SECRET): Promise<string> {
  return new SignJWT({ docs: { '*': 'write' }, ...claims })
    .setProtectedHeader({ alg: 'HS256' })
    .setExpirationTime('1h')
    .sign(new TextEncoder().encode(secret));
}

/** Status and body of the upgrade (101 when it opened). */
function upgrade(token: string, http = server.http): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${http}/ws?token=${encodeURIComponent(token)}`, {
      headers: {
        connection: 'Upgrade',
        upgrade: 'websocket',
        'sec-websocket-version': '13',
        'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
      },
    });
    req.on('upgrade', (_res, socket) => {
      socket.destroy();
      resolve({ status: 101, body: '' });
    });
    req.on('response', (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += String(chunk)));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('sub', () => {
  it.each([
    ['an object', { admin: true }],
    ['a number', 42],
    ['an empty string', ''],
    ['257 characters', 'u'.repeat(257)],
  ])('is refused when it is %s', async (_name, sub) => {
    const { status, body } = await upgrade(await sign({ sub }));
    expect(status).toBe(401);
    expect(JSON.parse(body)).toEqual({
      error: 'UNAUTHORIZED',
      message: 'the token\'s "sub" must be a non-empty string of at most 256 characters',
    });
  });

  it('of 256 characters is accepted and shown as is in presence', async () => {
    const sub = 'u'.repeat(256);
    const doc = randomDoc();
    const token = await sign({ sub });
    const a = await TestClient.connect(`${server.url}?token=${token}`);
    const b = await TestClient.connect(`${server.url}?token=${await sign({ sub: 'bob' })}`);
    await b.request({ type: 'join', doc });
    await a.request({ type: 'join', doc, presence: { cursor: 1 } });
    const seen = await b.next((m) => m.type === 'presence');
    expect(seen).toMatchObject({ type: 'presence', user: sub });
    await Promise.all([a.close(), b.close()]);
  });
});

describe('nbf', () => {
  it('in the future is refused as "not valid yet"', async () => {
    const nbf = Math.floor(Date.now() / 1000) + 600;
    const { status, body } = await upgrade(await sign({ sub: 'alice', nbf }));
    expect(status).toBe(401);
    expect(body).toContain('not valid yet');
  });
});

describe('secret rotation', () => {
  it('accepts tokens of the previous secret while it is configured', async () => {
    const test = await TestClient.connect(
      `${server.url}?token=${await sign({ sub: 'alice' }, PREVIOUS)}`,
    );
    expect((await test.request({ type: 'ping' })).type).toBe('pong');
    await test.close();
  });

  it('refuses tokens of any other secret', async () => {
    const { status, body } = await upgrade(
      await sign({ sub: 'alice' }, 'some-other-secret-entirely-of-good-length'),
    );
    expect(status).toBe(401);
    expect(body).toContain('signature is not valid');
  });

  it('refuses tokens of the previous secret once it is removed', async () => {
    const rotated = await startTestServer({ AUTH_JWT_SECRET: SECRET });
    try {
      const res = await upgrade(await sign({ sub: 'alice' }, PREVIOUS), rotated.http);
      expect(res.status).toBe(401);
    } finally {
      await rotated.close();
    }
  });
});

describe('token size', () => {
  it('refuses a token over 8 KiB, even a validly signed one, with 401 naming the limit', async () => {
    const padded = await sign({ sub: 'alice', pad: 'p'.repeat(20_000) });
    const { status, body } = await upgrade(padded);
    expect(status).toBe(401);
    expect(JSON.parse(body)).toMatchObject({ error: 'UNAUTHORIZED' });
    expect(body).toContain('at most 8192 bytes');
  });

  it('answers a 100 KB token with 401 and a message, not a reset connection', async () => {
    const { status, body } = await upgrade('x'.repeat(100_000));
    expect(status).toBe(401);
    expect(body).toContain('at most 8192 bytes');
  });

  it('refuses an oversized bearer token on GET /docs with 401', async () => {
    const padded = await sign({ sub: 'alice', pad: 'p'.repeat(20_000) });
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(`${server.http}/docs/${randomDoc('big-token')}`, {
        headers: { authorization: `Bearer ${padded}` },
      });
      req.on('response', (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end();
    });
    expect(status).toBe(401);
  });
});
