import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

/** What GET /health reports: `ok`, or each check's problem (503). */
export interface HealthAnswer {
  status: 'ok' | 'degraded' | 'error';
  node: string;
  role: string;
  uptimeSeconds: number;
  /** Each dependency: `ok`, or what is wrong with it. */
  checks: Record<string, string>;
}

export interface MetricsServerOptions {
  host: string;
  port: number;
  registry: Registry;
  health(): Promise<HealthAnswer>;
}

/**
 * A plain HTTP listener with GET /metrics and GET /health, for Prometheus and
 * orchestrators to reach this one process: gateways that share their port
 * through SO_REUSEPORT are reached one at a time, at random, on it; workers
 * have no other port.
 */
export class MetricsServer {
  private constructor(
    private readonly server: http.Server,
    /** The port it listens on (the one asked for, or the one picked for 0). */
    readonly port: number,
  ) {}

  static listen(options: MetricsServerOptions): Promise<MetricsServer> {
    const server = http.createServer((req, res) => {
      const answer = (status: number, type: string, body: string) => {
        res.writeHead(status, { 'content-type': type });
        res.end(body);
      };
      const path = (req.url ?? '/').split('?')[0];
      if (req.method !== 'GET' || (path !== '/metrics' && path !== '/health')) {
        answer(
          404,
          'application/json',
          JSON.stringify({
            error: 'NOT_FOUND',
            message: 'this port serves GET /metrics and GET /health',
          }),
        );
        return;
      }
      const work =
        path === '/metrics'
          ? options.registry
              .metrics()
              .then((text) => answer(200, options.registry.contentType, text))
          : options
              .health()
              .then((report) =>
                answer(
                  report.status === 'error' ? 503 : 200,
                  'application/json',
                  JSON.stringify(report),
                ),
              );
      work.catch((err: unknown) =>
        answer(
          500,
          'application/json',
          JSON.stringify({ error: 'INTERNAL', message: String(err) }),
        ),
      );
    });
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port, options.host, () => {
        server.off('error', reject);
        resolve(new MetricsServer(server, (server.address() as AddressInfo).port));
      });
    });
  }

  /** Stops listening and ends open scrapes. Idempotent. */
  async close(): Promise<void> {
    if (!this.server.listening) return;
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}
