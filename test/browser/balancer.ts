import net from 'node:net';

/**
 * A loopback TCP balancer in front of gateways, as a load balancer would
 * be: new connections go to the current target, which the test can switch
 * when it kills the gateway behind it. Connections already open follow
 * their gateway's fate.
 */
export class Balancer {
  private readonly sockets = new Set<net.Socket>();
  private target: number;

  private constructor(
    private readonly server: net.Server,
    initialTarget: number,
  ) {
    this.target = initialTarget;
    server.on('connection', (client) => this.pipe(client));
  }

  static async start(targetPort: number): Promise<Balancer> {
    const server = net.createServer();
    const balancer = new Balancer(server, targetPort);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return balancer;
  }

  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  get http(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** New connections go to `port` from now on. */
  retarget(port: number): void {
    this.target = port;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private pipe(client: net.Socket): void {
    const upstream = net.connect(this.target, '127.0.0.1');
    for (const socket of [client, upstream]) {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      socket.on('error', () => socket.destroy());
    }
    client.pipe(upstream);
    upstream.pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  }
}
