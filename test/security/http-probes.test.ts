import { connect } from 'node:net';
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer } from '../support/test-server';

/**
 * PROTOCOL.md section 8: every route answers HEAD as GET without the body,
 * other methods get 405, request bodies are not read, and malformed
 * document ids or encodings answer 400 (never 500).
 */
type Server = Awaited<ReturnType<typeof startTestServer>>;
let server: Server;

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server.close();
});

function call(
  method: string,
  path: string,
): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request(`${server.http}${path}`, { method }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += String(chunk)));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('HTTP methods', () => {
  it.each(['/health', '/ws/stats', '/metrics'])(
    'HEAD %s answers like GET, without a body',
    async (path) => {
      const get = await call('GET', path);
      const head = await call('HEAD', path);
      expect(head.status).toBe(get.status);
      expect(head.body).toBe('');
      expect(head.headers['content-type']).toBe(get.headers['content-type']);
    },
  );

  it.each([
    ['POST', '/health'],
    ['PUT', '/docs/some-doc'],
    ['DELETE', '/docs/some-doc'],
    ['PATCH', '/ws/stats'],
    ['POST', '/metrics'],
  ])('%s %s answers 405 naming GET and HEAD', async (method, path) => {
    const answer = await call(method, path);
    expect(answer.status).toBe(405);
    expect(answer.headers.allow).toBe('GET, HEAD');
  });

  it('does not read a request body: the connection is closed after the answer', async () => {
    const socket = connect(server.port, '127.0.0.1');
    let received = '';
    socket.on('data', (chunk) => (received += String(chunk)));
    const ended = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    socket.write('POST /docs/x HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n');
    const chunk = `${(64 * 1024).toString(16)}\r\n${'x'.repeat(64 * 1024)}\r\n`;
    const timer = setInterval(() => {
      if (!socket.destroyed) socket.write(chunk);
    }, 5);
    await ended;
    clearInterval(timer);
    expect(received).toMatch(/^HTTP\/1\.1 405/);
  });
});

describe('/docs/:doc', () => {
  it.each(['%', '%E0%A4%A', '%ZZ', 'has%20space'])('answers 400 for /docs/%s', async (id) => {
    const answer = await call('GET', `/docs/${id}`);
    expect(answer.status).toBe(400);
    expect(JSON.parse(answer.body)).toMatchObject({ error: 'BAD_REQUEST' });
  });
});
