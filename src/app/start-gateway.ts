import type { Logger } from 'pino';
import { TokenVerifier } from '../auth/token-verifier';
import type { FlowConfig } from '../config';
import { multiProcessSafe, type Role } from '../config/topology';
import { GatewayServer, hardBackpressureBytes } from '../gateway/gateway-server';
import { buildGatewayContext } from '../gateway/http-context';
import { orderingBacklog } from '../gateway/ordering-backlog';
import type { Metrics } from '../observability/metrics';
import { ClientIdGuard } from '../realtime/client-id-guard';
import { GatewayHub } from '../realtime/hub';
import { RedisKeys } from '../redis/keys';
import { createClientIdRegistry } from '../services/client-ids';
import { MemoryClientIdRegistry } from '../services/client-ids/client-ids.memory';
import { createEventOrderingService } from '../services/event-ordering';
import type { CloseSteps } from './close-steps';
import { serveMetrics } from './metrics-endpoint';
import { explainBusyPort } from './port-holder';
import type { FlowServices } from './services';

export interface GatewayStart {
  config: FlowConfig;
  role: Role;
  /** When the process started (ms since the epoch), for the uptime it reports. */
  started: number;
  log: Logger;
  metrics: Metrics;
  services: FlowServices;
  steps: CloseSteps;
  /** Receives the hub once it exists: the WebSocket manager's reconnects refresh its feeds. */
  hubReady: (hub: GatewayHub) => void;
}

/** Starts the gateway: the ordering service it submits to, the hub, the uWS server. Resolves with the port. */
export async function startGateway(start: GatewayStart): Promise<number> {
  const { config, role, log, metrics, services, steps } = start;
  const { collaboration, websockets, redis } = services;
  const ordering = createEventOrderingService(config, services.processor, log, redis);
  steps.add(() => ordering.close());
  metrics.trackOrdering(
    orderingBacklog(
      ordering,
      redis && { client: redis.commands, keys: new RedisKeys(config.redis.keyPrefix).ordering },
    ),
  );

  const verifier = new TokenVerifier(config.auth.jwtSecret, config.auth.jwtSecretPrevious);
  const clientIds = new ClientIdGuard(
    createClientIdRegistry(config, log, redis),
    config.nodeId,
    log,
    new MemoryClientIdRegistry({ retentionSeconds: config.redis.sessionTtlSeconds }),
  );
  steps.add(() => clientIds.close());
  // Not awaited: with Redis down at start the process still comes up; the
  // subscriber subscribes once Redis is back.
  clientIds
    .start()
    .catch((err: unknown) => log.warn({ err }, 'client id takeover channel not subscribed'));
  const { limits } = config;
  const server = new GatewayServer({
    host: config.host,
    port: config.port,
    maxPayloadBytes: limits.maxPayloadBytes,
    maxBackpressureBytes: limits.maxBackpressureBytes,
    idleTimeoutSeconds: limits.idleTimeoutSeconds,
    // Half the drain at most: the services still need the rest to finish accepted work.
    closeSpreadMs: Math.min(config.shutdown.closeSpreadMs, config.shutdown.drainMs / 2),
    authenticate: (token) => verifier.verify(token),
    claimClient: (client, user) => clientIds.claim(client, user),
    releaseClient: (claim) => clientIds.release(claim),
  });
  const hub = new GatewayHub({
    config,
    collaboration,
    ordering,
    websockets,
    broadcaster: server.broadcaster,
    clientIds,
    metrics,
    log,
    role,
    maxJoinedBytes: hardBackpressureBytes(limits.maxBackpressureBytes),
  });
  start.hubReady(hub);
  const context = buildGatewayContext({
    config,
    role,
    started: start.started,
    log,
    metrics,
    collaboration,
    websockets,
    ordering,
    redis,
    verifier,
    hub,
    storeCheck: services.saving && (() => services.saving?.check() ?? 'ok'),
  });
  server.serve(hub, context);
  const modes = {
    websockets: websockets.mode,
    collaboration: collaboration.mode,
    eventOrdering: ordering.mode,
  };
  const port = await server
    .listen(config.host, config.port, !multiProcessSafe(config))
    .catch(async (err: unknown) => {
      throw await explainBusyPort(err, config.host, config.port, modes);
    });
  // Registered last so it runs first: stop taking clients before the services go.
  steps.add(() => server.close());
  const closeMetrics = await serveMetrics(config, metrics, context.health, log);
  if (closeMetrics) steps.add(closeMetrics);
  log.info(
    { host: config.host, port },
    `Flow Realtime ${role} listening on ws://${config.host}:${port}/ws`,
  );
  return port;
}
