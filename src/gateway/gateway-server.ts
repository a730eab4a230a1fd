import type { TemplatedApp, us_listen_socket, WebSocket } from 'uWebSockets.js';
import { CLIENT_ID_PATTERN, CloseCodes } from '../protocol';
import type { ClientIdClaim } from '../services/client-ids/client-id-registry';
import type { GatewayHub } from '../realtime/hub';
import type { ConnectionIdentity } from '../realtime/connection-host';
import type { GatewayContext } from './gateway-context';
import { registerHttpRoutes } from './http-routes';
import { SingleProcessBusyError, StartupError } from '../config/startup-error';
import { loadUws } from './uws';
import { UwsClientSocket, type SocketData } from './uws-socket';
import { randomBytes } from 'node:crypto';
import {
  BAD_CLIENT_ID,
  NOT_AN_UPGRADE,
  asksForUpgrade,
  refuseUpgrade,
  upgradeRefusal,
} from './upgrade-refusal';
import { LateUpgrades } from './late-upgrade';

/** Frames up to this many times the limit are read and answered TOO_LARGE; larger ones uWS drops at once. */
const HARD_PAYLOAD_FACTOR = 4;
/** ...and at least this many bytes, so that an ordinary oversized frame is answered. */
const HARD_PAYLOAD_FLOOR = 1024 * 1024;
/**
 * uWS closes a socket abruptly (no close frame) when a publish passes its
 * maxBackpressure. The sweep below closes slow consumers with 1013 first, at
 * WS_MAX_BACKPRESSURE_BYTES (and the document feeds check their members
 * every few events); uWS's own cap, several times higher, is the
 * hard stop that keeps memory bounded between sweeps. uWS never silently
 * skips a subscriber with closeOnBackpressureLimit on.
 */
const HARD_BACKPRESSURE_FACTOR = 4;
const HARD_BACKPRESSURE_SLACK = 1024 * 1024;
const BACKPRESSURE_SWEEP_MS = 100;

/** The most uWS queues for one socket before dropping it: also the largest frame it can send. */
export function hardBackpressureBytes(maxBackpressureBytes: number): number {
  return maxBackpressureBytes * HARD_BACKPRESSURE_FACTOR + HARD_BACKPRESSURE_SLACK;
}
/** uSockets' LIBUS_LISTEN_EXCLUSIVE_PORT: no SO_REUSEPORT (loadUws checks the native addon has it). */
const EXCLUSIVE_PORT = 1;

export interface GatewayServerOptions {
  host: string;
  port: number;
  maxPayloadBytes: number;
  maxBackpressureBytes: number;
  idleTimeoutSeconds: number;
  /** Over how long close() closes the clients (SHUTDOWN_CLOSE_SPREAD_MS, capped at half the drain). */
  closeSpreadMs: number;
  /** Checks the upgrade's token; throws ProtocolError('UNAUTHORIZED') to refuse it. */
  authenticate(
    token: string | null,
  ): Promise<Pick<ConnectionIdentity, 'user' | 'grants'> & { expiresAt: number | null }>;
  /** Takes the client id for a new connection; throws ClientIdOwnedError when another user owns it. */
  claimClient(client: string, user: string | null): Promise<ClientIdClaim>;
  /** Gives back a claim whose upgrade was abandoned. */
  releaseClient(claim: ClientIdClaim): void;
}

function newClientId(): string {
  return randomBytes(12).toString('base64url');
}

/**
 * The only place that speaks uWebSockets.js: routes, upgrades, frames. The
 * realtime core behind it sees ClientSocket and Broadcaster only.
 */
export class GatewayServer {
  private listenSocket: us_listen_socket | null = null;
  private readonly app: TemplatedApp;
  private hub: GatewayHub | undefined;
  private sweep: NodeJS.Timeout | undefined;
  port = 0;

  /**
   * The hub's fan-out: a topic publish of the app. Nothing publishes before
   * serve() registered the ws route (uWS crashes on a publish before any
   * app.ws()): the hub publishes only to members, and members come through
   * that route.
   */
  readonly broadcaster = {
    broadcast: (topic: string, text: string): void => {
      if (this.hub) this.app.publish(topic, text, false);
    },
  };

  constructor(private readonly options: GatewayServerOptions) {
    this.app = loadUws().App();
  }

  /** Registers the WebSocket route, carried out by `hub`, and the HTTP routes of `context`. */
  serve(hub: GatewayHub, context: GatewayContext): void {
    if (this.hub) throw new Error('the gateway server is already serving');
    this.hub = hub;
    const { app, options } = this;
    const { metrics } = context;
    const slowConsumer = () => metrics.slowConsumerCloses.inc();
    const sockets = new Set<UwsClientSocket>();
    let socketIds = 0;
    const publish = (topic: string, text: string) => void app.publish(topic, text, false);
    // Fan-out happens inside uWS (topic publish), so buffers are checked here.
    this.sweep = setInterval(() => {
      for (const socket of sockets) socket.checkBackpressure();
    }, BACKPRESSURE_SWEEP_MS);
    this.sweep.unref();
    const upgrades = new LateUpgrades<WebSocket<SocketData>>((ws) => {
      const data = ws.getUserData();
      const adapter = new UwsClientSocket(
        ws,
        options.maxBackpressureBytes,
        slowConsumer,
        ++socketIds,
        publish,
      );
      data.adapter = adapter;
      sockets.add(adapter);
      data.connection = hub.connect(adapter, {
        client: data.client,
        user: data.user,
        grants: data.grants,
        expiresAt: data.expiresAt,
        ...(data.claim ? { claim: data.claim } : {}),
      });
    });

    app.ws<SocketData>('/ws', {
      maxPayloadLength: Math.max(options.maxPayloadBytes * HARD_PAYLOAD_FACTOR, HARD_PAYLOAD_FLOOR),
      maxBackpressure: hardBackpressureBytes(options.maxBackpressureBytes),
      closeOnBackpressureLimit: 1,
      idleTimeout: options.idleTimeoutSeconds,
      sendPingsAutomatically: true,
      upgrade: (res, req, socketContext) => {
        const query = new URLSearchParams(req.getQuery() ?? '');
        const key = req.getHeader('sec-websocket-key');
        const protocol = req.getHeader('sec-websocket-protocol');
        const extensions = req.getHeader('sec-websocket-extensions');
        let aborted = false;
        res.onAborted(() => {
          aborted = true;
        });
        if (!asksForUpgrade(req.getHeader('connection'))) {
          refuseUpgrade(res, NOT_AN_UPGRADE);
          return;
        }
        const requested = query.get('client');
        if (requested !== null && !CLIENT_ID_PATTERN.test(requested)) {
          refuseUpgrade(res, BAD_CLIENT_ID);
          return;
        }
        options
          .authenticate(query.get('token'))
          .then(async (identity) => {
            if (aborted) return;
            const client = requested ?? newClientId();
            const claim = await options.claimClient(client, identity.user);
            if (aborted) {
              options.releaseClient(claim);
              return;
            }
            const data: SocketData = { client, ...identity, claim };
            upgrades.upgrade(
              () => res.cork(() => res.upgrade(data, key, protocol, extensions, socketContext)),
              () => options.releaseClient(claim),
            );
          })
          .catch((err: unknown) => {
            if (aborted) return;
            const refusal = upgradeRefusal(err);
            if (refusal.error === 'INTERNAL') context.log.error({ err }, 'upgrade failed');
            refuseUpgrade(res, refusal);
          });
      },
      open: (ws: WebSocket<SocketData>) => upgrades.open(ws),
      message: (ws: WebSocket<SocketData>, message: ArrayBuffer, isBinary: boolean) => {
        const { connection, adapter } = ws.getUserData();
        if (!connection || !adapter) return;
        if (message.byteLength > options.maxPayloadBytes) {
          adapter.send(
            JSON.stringify({
              type: 'error',
              code: 'TOO_LARGE',
              message: `frames may be at most ${options.maxPayloadBytes} bytes; this one was ${message.byteLength}`,
            }),
          );
          metrics.errors.inc({ code: 'TOO_LARGE' });
          adapter.end(CloseCodes.MESSAGE_TOO_BIG, 'frame too large');
          return;
        }
        if (isBinary) {
          metrics.errors.inc({ code: 'BAD_REQUEST' });
          adapter.send(
            JSON.stringify({
              type: 'error',
              code: 'BAD_REQUEST',
              message: 'binary frames are not accepted; send one JSON object per text frame',
            }),
          );
          return;
        }
        // The ArrayBuffer is only valid during this call: decode now.
        connection.onText(Buffer.from(message).toString('utf8'));
      },
      drain: (ws: WebSocket<SocketData>) => {
        ws.getUserData().adapter?.checkBackpressure();
      },
      close: (ws: WebSocket<SocketData>) => {
        const { adapter, connection } = ws.getUserData();
        if (!adapter) {
          upgrades.closedBeforeStart();
          return;
        }
        adapter.closed = true;
        sockets.delete(adapter);
        if (connection) hub.disconnect(connection);
      },
    });

    registerHttpRoutes(app, context);
  }

  /**
   * Listens on host:port. Shared (SO_REUSEPORT, the default) lets several
   * gateway processes serve one port; `exclusive` refuses to share it, for
   * configurations that serve one process only.
   */
  listen(host: string, port: number, exclusive = false): Promise<number> {
    const uWS = loadUws();
    return new Promise((resolve, reject) => {
      const onListen = (socket: us_listen_socket | false) => {
        if (!socket) {
          const why = exclusive
            ? 'the port is in use (this configuration keeps a service in memory and serves one process only: ' +
              'is another Flow process running?)'
            : 'the port is in use or not allowed';
          const message = `cannot listen on ${host}:${port}: ${why}; set PORT to a free port`;
          reject(exclusive ? new SingleProcessBusyError(message) : new StartupError(message));
          return;
        }
        this.listenSocket = socket;
        this.port = uWS.us_socket_local_port(socket);
        resolve(this.port);
      };
      if (exclusive) {
        // The native addon takes (host, port, options, cb); its typings list only (port, options, cb).
        const listen = this.app.listen as unknown as (
          host: string,
          port: number,
          options: number,
          cb: (socket: us_listen_socket | false) => void,
        ) => void;
        listen.call(this.app, host, port, EXCLUSIVE_PORT, onListen);
      } else {
        this.app.listen(host, port, onListen);
      }
    });
  }

  /** Stops accepting connections, then closes every client with 1001, spread over closeSpreadMs. Idempotent. */
  async close(): Promise<void> {
    const uWS = loadUws();
    if (this.listenSocket) {
      uWS.us_listen_socket_close(this.listenSocket);
      this.listenSocket = null;
    }
    await this.hub?.close(
      CloseCodes.GOING_AWAY,
      'gateway shutting down; reconnect',
      this.options.closeSpreadMs,
    );
    // Cleared only now: the clients served during the spread still need it.
    if (this.sweep) clearInterval(this.sweep);
  }
}
