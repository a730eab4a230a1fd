import type { FlowConfig } from '../config';
import { TokenVerifier } from '../auth/token-verifier';
import type { GatewayContext, HealthReport } from '../gateway/gateway-context';
import { GatewayServer } from '../gateway/gateway-server';
import type { RequestInput } from '../gateway/http-routes';
import { createLogger, type Logger } from '../observability/logger';
import { Metrics } from '../observability/metrics';
import { ProtocolError } from '../protocol';
import { accessTo } from '../realtime/grants';
import { GatewayHub } from '../realtime/hub';
import { createCollaborationService } from '../services/collaboration';
import type { CollaborationService } from '../services/collaboration/collaboration-service';
import { createEventOrderingService } from '../services/event-ordering';
import { createDocumentProcessor } from '../services/event-ordering/document-processor';
import type { EventOrderingService } from '../services/event-ordering/event-ordering-service';
import { StartupError } from '../services/startup-error';
import { createWebSocketManager } from '../services/websocket-manager';
import type { WebSocketManager } from '../services/websocket-manager/websocket-manager';

export type Role = 'all' | 'gateway' | 'worker';

export interface FlowProcess {
  readonly role: Role;
  /** The port the gateway listens on (0 for a worker). */
  readonly port: number;
  readonly log: Logger;
  readonly metrics: Metrics;
  /** Stops listening, closes clients with 1001, drains and closes services. Idempotent. */
  close(): Promise<void>;
}

export interface StartOptions {
  log?: Logger;
}

/**
 * The composition root of every role: builds the services from the config,
 * wires them, starts the gateway. Only here do the pieces meet.
 */
export async function startFlow(
  config: FlowConfig,
  role: Role,
  options: StartOptions = {},
): Promise<FlowProcess> {
  const log = options.log ?? createLogger(config, role);
  const metrics = new Metrics();
  const started = Date.now();
  const closers: Array<() => Promise<void>> = [];
  const closeAll = async () => {
    // Every cleanup runs even when one fails; the last registered runs first.
    for (const closer of closers.reverse()) {
      await closer().catch((err: unknown) => log.error({ err }, 'cleanup failed'));
    }
    closers.length = 0;
  };

  try {
    const websockets: WebSocketManager = createWebSocketManager(config, log);
    closers.push(() => websockets.close());
    const collaboration: CollaborationService = createCollaborationService(config, log);
    closers.push(() => collaboration.close());
    const processor = createDocumentProcessor({
      collaboration,
      websockets,
      log,
      onApplied: (count) => metrics.opsApplied.inc(count),
    });
    const ordering: EventOrderingService = createEventOrderingService(config, processor, log);
    closers.push(() => ordering.close());

    if (role === 'worker') {
      throw new StartupError(
        'the worker role consumes the Redis ordering queues; set USE_REDIS_EVENT_ORDERING=true, or run "flow all" for one process',
      );
    }

    const verifier = new TokenVerifier(config.auth.jwtSecret);
    const context: GatewayContext = {
      log,
      metrics,
      collaboration,
      health: async (): Promise<HealthReport> => ({
        status: 'ok',
        node: config.nodeId,
        role,
        uptimeSeconds: Math.round((Date.now() - started) / 1000),
        checks: { collaboration: 'ok', ordering: 'ok', websockets: 'ok' },
      }),
      stats: async () => {
        const local = server.hub.stats();
        return {
          node: config.nodeId,
          role,
          uptimeSeconds: Math.round((Date.now() - started) / 1000),
          services: {
            websockets: websockets.mode,
            collaboration: collaboration.mode,
            eventOrdering: ordering.mode,
          },
          connections: local.connections,
          documents: local.documents,
          messagesIn: local.messagesIn,
          messagesOut: (await metrics.messagesOut.get()).values[0]?.value ?? 0,
          eventsDelivered: (await metrics.eventsDelivered.get()).values[0]?.value ?? 0,
          cluster: await websockets.clusterStats(),
        };
      },
      authorizeDocumentRead: async (doc: string, input: RequestInput) => {
        if (!verifier.enabled) return null;
        const bearer = /^Bearer\s+(.+)$/i.exec(input.authorization)?.[1];
        const token = bearer ?? new URLSearchParams(input.query).get('token');
        try {
          const identity = await verifier.verify(token);
          if (accessTo(identity.grants, doc) === 'none') {
            return {
              status: 403,
              body: { error: 'FORBIDDEN', message: `the token does not grant document "${doc}"` },
            };
          }
          return null;
        } catch (err) {
          const message =
            err instanceof ProtocolError ? err.message : 'the token could not be verified';
          return { status: 401, body: { error: 'UNAUTHORIZED', message } };
        }
      },
    };

    const { limits } = config;
    const server = GatewayServer.create(
      {
        host: config.host,
        port: config.port,
        maxPayloadBytes: limits.maxPayloadBytes,
        maxBackpressureBytes: limits.maxBackpressureBytes,
        idleTimeoutSeconds: limits.idleTimeoutSeconds,
        authenticate: (token) => verifier.verify(token),
      },
      context,
      (broadcaster) =>
        new GatewayHub({
          config,
          collaboration,
          ordering,
          websockets,
          broadcaster,
          metrics,
          log,
          role,
        }),
    );
    const port = await server.listen(config.host, config.port);
    // Registered last so it runs first: stop taking clients before the services go.
    closers.push(() => server.close());
    log.info(
      { host: config.host, port },
      `Flow Realtime ${role} listening on ws://${config.host}:${port}/ws`,
    );

    let closing: Promise<void> | null = null;
    return {
      role,
      port,
      log,
      metrics,
      close: () => (closing ??= closeAll()),
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}
