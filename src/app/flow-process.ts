import type { Logger } from 'pino';
import type { FlowConfig } from '../config';
import { checkTopology, workerIdle, type Role } from '../config/topology';
import { createLogger } from '../observability/logger';
import { Metrics } from '../observability/metrics';
import { CloseSteps } from './close-steps';
import { HubLink } from './hub-link';
import { processHealth, serveMetrics } from './metrics-endpoint';
import { buildServices } from './services';
import { startGateway } from './start-gateway';
import { startOrderingWorker, startWorkerHeartbeat } from './start-worker';

export type { Role } from '../config/topology';

export interface FlowProcess {
  readonly role: Role;
  /** The port the gateway listens on (0 for a worker). */
  readonly port: number;
  readonly log: Logger;
  readonly metrics: Metrics;
  /** Stops listening, closes clients with 1001, drains and closes services. Idempotent. */
  close(): Promise<void>;
  /**
   * A process that runs the ordering worker: settles once the worker
   * consumes (wake-ups subscribed, first poll done). The CLI tells pm2
   * 'ready' then, so that a reload stops an old worker only once its
   * successor takes documents.
   */
  readonly consuming?: Promise<void>;
}

export interface StartOptions {
  log?: Logger;
}

/**
 * The composition root of every role: builds the services from the config,
 * then starts what the role runs (`gateway`, `worker`, or both for `all`).
 * Only here do the pieces meet.
 */
export async function startFlow(
  config: FlowConfig,
  role: Role,
  options: StartOptions = {},
): Promise<FlowProcess> {
  checkTopology(config, role);
  const log = options.log ?? createLogger(config, role);
  const metrics = new Metrics();
  if (workerIdle(config, role)) return idleWorker(config, log, metrics);
  const started = Date.now();
  const steps = new CloseSteps(log);
  const close = () => steps.close();
  try {
    const hubLink = new HubLink();
    const services = await buildServices(config, log, metrics, steps, hubLink, role);
    const { redis } = services;
    const runsWorker = role !== 'gateway' && config.flags.eventOrdering && redis !== null;
    const consuming = runsWorker
      ? startOrderingWorker(config, { ...services, redis }, log, steps)
      : undefined;
    const worker = consuming ? { consuming } : {};
    if (role === 'worker') {
      startWorkerHeartbeat(config, services.websockets, steps);
      const health = processHealth(config, role, started, redis);
      const closeMetrics = await serveMetrics(config, metrics, health, log);
      if (closeMetrics) steps.add(closeMetrics);
      return { role, port: 0, log, metrics, close, ...worker };
    }
    const port = await startGateway({
      config,
      role,
      started,
      log,
      metrics,
      services,
      steps,
      hubReady: (hub) => hubLink.attach(hub),
    });
    return { role, port, log, metrics, close, ...worker };
  } catch (err) {
    await close();
    throw err;
  }
}

/**
 * A worker with USE_REDIS_EVENT_ORDERING off has nothing to do: gateways
 * apply ops themselves. It stays up (and says why) until it is restarted.
 */
async function idleWorker(config: FlowConfig, log: Logger, metrics: Metrics): Promise<FlowProcess> {
  log.warn(
    'worker idle: USE_REDIS_EVENT_ORDERING=false, so gateways apply ops themselves; this process waits for a restart with the flag on',
  );
  // Nothing else holds the event loop: keep the process up until it is stopped.
  const idle = setInterval(() => undefined, 60_000);
  const health = processHealth(config, 'worker', Date.now(), null);
  const closeMetrics = await serveMetrics(config, metrics, health, log).catch((err: unknown) => {
    clearInterval(idle);
    throw err;
  });
  const close = async () => {
    clearInterval(idle);
    await closeMetrics?.();
  };
  return { role: 'worker', port: 0, log, metrics, close };
}
