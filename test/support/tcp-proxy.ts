import net from 'node:net';

/** A loopback TCP proxy whose connections a test can cut, as a network failure would. */
export class TcpProxy {
  private readonly sockets = new Set<net.Socket>();
  /** New connections are dropped at once until `until` (ms since the epoch). */
  private readonly refusing = { until: 0 };
  /** Where new connections go; a restarted server may listen elsewhere. */
  private readonly target = { port: 0 };
  private constructor(
    private readonly server: net.Server,
    readonly port: number,
  ) {}

  static async start(targetPort: number): Promise<TcpProxy> {
    const sockets = new Set<net.Socket>();
    const refusing = { until: 0 };
    const target = { port: targetPort };
    const server = net.createServer((client) => {
      if (Date.now() < refusing.until) {
        client.destroy();
        return;
      }
      const upstream = net.connect(target.port, '127.0.0.1');
      for (const socket of [client, upstream]) {
        sockets.add(socket);
        socket.on('close', () => sockets.delete(socket));
        socket.on('error', () => socket.destroy());
      }
      client.pipe(upstream);
      upstream.pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const proxy = new TcpProxy(server, (server.address() as net.AddressInfo).port);
    Object.assign(proxy, { sockets, refusing, target });
    return proxy;
  }

  /**
   * Drops every open connection abruptly (no close frame), and drops new
   * ones for the next `downMs` milliseconds: a link that stays down a while.
   */
  cut(downMs = 0): void {
    this.refusing.until = Date.now() + downMs;
    for (const socket of this.sockets) socket.destroy();
  }

  /** Sends new connections to `port` from now on. */
  retarget(port: number): void {
    this.target.port = port;
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
