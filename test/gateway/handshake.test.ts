import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer } from '../support/test-server';
import { SECRET, hs256 } from '../security/auth-support';

/**
 * The gateway upgrades a connection after an await (the token check, the
 * client id claim). uWS, after such an upgrade, reads the HTTP state from
 * memory the WebSocket now owns, and closed the new socket when it read
 * "Connection: close": the client saw `welcome`, then 1006. A handshake that
 * says "Connection: close" left that byte there every time; other bytes came
 * from what the open handler allocated while uWS still held the socket
 * corked. The gateway refuses the first and opens nothing inside the cork
 * (test/gateway/late-upgrade.test.ts).
 */
type Server = Awaited<ReturnType<typeof startTestServer>>;
let server: Server;

beforeAll(async () => {
  // The token check resolves on a later turn of the event loop (WebCrypto).
  server = await startTestServer({ AUTH_JWT_SECRET: SECRET });
});
afterAll(async () => {
  await server?.close();
});

/** A raw WebSocket client: frames in, text out; just what this test needs. */
class RawClient {
  private buffer = Buffer.alloc(0);
  readonly texts: string[] = [];
  ended = false;
  private waiters: Array<() => void> = [];

  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      this.parse();
      this.wake();
    });
    socket.on('close', () => {
      this.ended = true;
      this.wake();
    });
    socket.on('error', () => undefined);
  }

  static open(port: number, token: string, connection: string): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.write(
          `GET /ws?token=${token} HTTP/1.1\r\n` +
            'Host: 127.0.0.1\r\nUpgrade: websocket\r\n' +
            `Connection: ${connection}\r\nSec-WebSocket-Version: 13\r\n` +
            'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
        );
        resolve(new RawClient(socket));
      });
      socket.once('error', reject);
    });
  }

  private upgraded = false;

  private parse(): void {
    if (!this.upgraded) {
      const end = this.buffer.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = this.buffer.subarray(0, end).toString();
      if (!head.startsWith('HTTP/1.1 101')) throw new Error(`not upgraded: ${head}`);
      this.upgraded = true;
      this.buffer = this.buffer.subarray(end + 4);
    }
    for (;;) {
      if (this.buffer.length < 2) return;
      const opcode = (this.buffer[0] as number) & 0x0f;
      let length = (this.buffer[1] as number) & 0x7f;
      let offset = 2;
      if (length === 126) {
        if (this.buffer.length < 4) return;
        length = this.buffer.readUInt16BE(2);
        offset = 4;
      }
      if (this.buffer.length < offset + length) return;
      const payload = this.buffer.subarray(offset, offset + length);
      if (opcode === 1) this.texts.push(payload.toString());
      this.buffer = this.buffer.subarray(offset + length);
    }
  }

  private wake(): void {
    for (const waiter of this.waiters.splice(0)) waiter();
  }

  /** Resolves once a text containing `part` came, or with false once the socket ended or time ran out. */
  async waitFor(part: string, timeoutMs = 3000): Promise<boolean> {
    const until = Date.now() + timeoutMs;
    while (!this.texts.some((t) => t.includes(part))) {
      if (this.ended || Date.now() > until) return false;
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
    return true;
  }

  /** Sends one masked text frame (payloads under 126 bytes). */
  sendText(text: string): void {
    const payload = Buffer.from(text);
    const mask = Buffer.from([1, 2, 3, 4]);
    const masked = Buffer.from(payload.map((byte, i) => byte ^ (mask[i % 4] as number)));
    this.socket.write(Buffer.concat([Buffer.from([0x81, 0x80 | payload.length]), mask, masked]));
  }

  close(): void {
    this.socket.destroy();
  }
}

async function handshake(connection: string, query = ''): Promise<{ head: string; body: string }> {
  const token = await hs256({ docs: { '*': 'write' } });
  return new Promise((resolve, reject) => {
    const socket = connect(server.port, '127.0.0.1', () =>
      socket.write(
        `GET /ws?token=${token}${query} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n` +
          `Connection: ${connection}\r\nSec-WebSocket-Version: 13\r\n` +
          'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
      ),
    );
    let text = '';
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      const end = text.indexOf('\r\n\r\n');
      const length = /content-length: (\d+)/i.exec(text)?.[1];
      if (end >= 0 && length !== undefined && text.length >= end + 4 + Number(length)) {
        socket.destroy();
        resolve({ head: text.slice(0, end), body: text.slice(end + 4) });
      }
    });
    socket.on('error', reject);
  });
}

describe('a connection upgraded after the token check', () => {
  it.each(['Upgrade', 'keep-alive, Upgrade'])(
    'stays open after welcome and answers a ping (Connection: %s)',
    async (connection) => {
      for (let attempt = 0; attempt < 20; attempt++) {
        const token = await hs256({ docs: { '*': 'write' } });
        const client = await RawClient.open(server.port, token, connection);
        try {
          expect(await client.waitFor('"welcome"')).toBe(true);
          client.sendText('{"type":"ping","ref":"p"}');
          const answered = await client.waitFor('"pong"');
          expect({ attempt, answered, ended: client.ended }).toEqual({
            attempt,
            answered: true,
            ended: false,
          });
        } finally {
          client.close();
        }
      }
    },
  );

  it('is refused with 400 when the handshake says "Connection: close", saying what it needs', async () => {
    const { head, body } = await handshake('close');
    expect(head).toMatch(/^HTTP\/1\.1 400 /);
    expect(JSON.parse(body)).toEqual({
      error: 'BAD_REQUEST',
      message:
        'a WebSocket handshake needs the header "Connection: Upgrade"; connect with a WebSocket client',
    });
  });

  it('is refused with 400 and a JSON body, like every refusal, when the client id breaks its rule', async () => {
    const { head, body } = await handshake('Upgrade', '&client=no%20spaces');
    expect(head).toMatch(/^HTTP\/1\.1 400 /);
    expect(head.toLowerCase()).toContain('content-type: application/json');
    expect(JSON.parse(body)).toEqual({
      error: 'BAD_REQUEST',
      message: '"client" must be 1-64 characters of A-Z a-z 0-9 _ -',
    });
  });
});
