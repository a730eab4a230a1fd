import type { FlowConfig } from '../config';
import type { Logger } from 'pino';
import type { Metrics } from '../observability/metrics';
import { MetricsServer, type HealthAnswer } from '../observability/metrics-server';
import { StartupError } from '../config/startup-error';

/**
 * The port of this process alone: METRICS_PORT plus the pm2 instance number,
 * so that instances of one app sharing PORT each get their own. Undefined
 * when METRICS_PORT is 0 (none).
 */
export function metricsPortOf(config: FlowConfig): number | undefined {
  const { port, instance } = config.metrics;
  return port === 0 ? undefined : port + instance;
}

/**
 * Serves /metrics and /health on the process's own metrics port, when there
 * is one; returns its closer. A port that cannot be taken stops the process:
 * Prometheus would otherwise scrape whatever holds it under this process's name.
 */
export async function serveMetrics(
  config: FlowConfig,
  metrics: Metrics,
  health: () => Promise<HealthAnswer>,
  log: Logger,
): Promise<(() => Promise<void>) | null> {
  const port = metricsPortOf(config);
  if (port === undefined) return null;
  let server: MetricsServer;
  try {
    server = await MetricsServer.listen({
      host: config.host,
      port,
      registry: metrics.registry,
      health,
    });
  } catch (err) {
    throw new StartupError(
      `cannot listen for /metrics on ${config.host}:${port} (METRICS_PORT ${config.metrics.port} + ` +
        `instance ${config.metrics.instance}): ${(err as Error).message}; set METRICS_PORT to a free range`,
    );
  }
  log.info({ host: config.host, port }, 'serving /metrics and /health on the metrics port');
  return () => server.close();
}

/** /health of a process without a gateway (a worker): Redis, when it uses it. */
export function processHealth(
  config: FlowConfig,
  role: string,
  started: number,
  redis: { check(): Promise<string> } | null,
): () => Promise<HealthAnswer> {
  return async () => {
    const checks: Record<string, string> = {};
    if (redis) checks.redis = await redis.check();
    return {
      status: Object.values(checks).every((c) => c === 'ok') ? 'ok' : 'error',
      node: config.nodeId,
      role,
      uptimeSeconds: Math.round((Date.now() - started) / 1000),
      checks,
    };
  };
}
