import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { WebSocketServer } from 'ws';
import type { ClientMessage, ServerMessage } from '../../src/protocol';

const DEMO_DIR = path.resolve(__dirname, '../../dist/demo');
const TYPES: Record<string, string> = {
  '/': 'text/html',
  '/demo/app.js': 'text/javascript',
  '/demo/style.css': 'text/css',
};

/**
 * The demo page's files and a one-client gateway stand-in that has a
 * document store: `joined` carries `savedSeq`, and every applied op message
 * is followed by `saved` once `save()` is called. Only as much protocol as
 * the page needs, for the saved indicator the real server sends only with
 * a store configured.
 */
export class StoreStandIn {
  private seq = 0;
  private readonly sockets = new Set<import('ws').WebSocket>();

  private constructor(private readonly server: http.Server) {}

  static async start(): Promise<StoreStandIn> {
    const server = http.createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://stand-in').pathname;
      const type = TYPES[url];
      if (!type) return void res.writeHead(404).end();
      const file = url === '/' ? 'index.html' : url.slice('/demo/'.length);
      res.writeHead(200, { 'content-type': type }).end(readFileSync(path.join(DEMO_DIR, file)));
    });
    const standIn = new StoreStandIn(server);
    const wss = new WebSocketServer({ server, path: '/ws' });
    wss.on('connection', (socket) => {
      standIn.sockets.add(socket);
      socket.on('close', () => standIn.sockets.delete(socket));
      const send = (message: ServerMessage) => socket.send(JSON.stringify(message));
      send({ type: 'welcome', protocol: 1, client: 'page', node: 'stand-in' });
      socket.on('message', (data) => {
        const message = JSON.parse(String(data)) as ClientMessage;
        const ref = message.ref === undefined ? {} : { ref: message.ref };
        if (message.type === 'join') {
          const { doc } = message;
          send({
            type: 'joined',
            doc,
            epoch: 'e1',
            seq: 0,
            state: {},
            presence: [],
            savedSeq: 0,
            ...ref,
          });
        } else if (message.type === 'op') {
          send({ type: 'ack', doc: message.doc, cseq: message.cseq, seq: ++standIn.seq, ...ref });
        } else if (message.type === 'ping') {
          send({ type: 'pong', ...ref });
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return standIn;
  }

  get http(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Every op message applied so far is now "in durable storage". */
  save(doc: string): void {
    for (const socket of this.sockets)
      socket.send(JSON.stringify({ type: 'saved', doc, seq: this.seq }));
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.terminate();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
