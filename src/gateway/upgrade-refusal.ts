import type { HttpResponse } from 'uWebSockets.js';
import { ProtocolError } from '../protocol';
import { ClientIdOwnedError } from '../realtime/client-id-guard';

export interface UpgradeRefusal {
  status: string;
  error: string;
  message: string;
}

/** The HTTP answer to an upgrade that failed with `err`. */
export function upgradeRefusal(err: unknown): UpgradeRefusal {
  if (err instanceof ClientIdOwnedError)
    return { status: '409 Conflict', error: 'CLIENT_ID_IN_USE', message: err.message };
  if (err instanceof ProtocolError && err.code === 'UNAUTHORIZED')
    return { status: '401 Unauthorized', error: 'UNAUTHORIZED', message: err.message };
  if (err instanceof ProtocolError && err.code === 'UNAVAILABLE')
    return { status: '503 Service Unavailable', error: 'UNAVAILABLE', message: err.message };
  return {
    status: '500 Internal Server Error',
    error: 'INTERNAL',
    message: 'internal error; see the server log',
  };
}

/**
 * RFC 6455 asks for "Connection: Upgrade" (browsers may add keep-alive).
 * Without it uWS would take the request for "Connection: close" and drop
 * the socket right after the upgrade; refusing says why instead.
 */
export function asksForUpgrade(connection: string): boolean {
  return connection.split(',').some((token) => token.trim().toLowerCase() === 'upgrade');
}

export const NOT_AN_UPGRADE: UpgradeRefusal = {
  status: '400 Bad Request',
  error: 'BAD_REQUEST',
  message:
    'a WebSocket handshake needs the header "Connection: Upgrade"; connect with a WebSocket client',
};

export const BAD_CLIENT_ID: UpgradeRefusal = {
  status: '400 Bad Request',
  error: 'BAD_REQUEST',
  message: '"client" must be 1-64 characters of A-Z a-z 0-9 _ -',
};

/** Answers the upgrade request with its refusal: the status, and `{error, message}` as JSON. */
export function refuseUpgrade(res: HttpResponse, { status, error, message }: UpgradeRefusal): void {
  res.cork(() =>
    res
      .writeStatus(status)
      .writeHeader('content-type', 'application/json')
      .end(JSON.stringify({ error, message })),
  );
}
