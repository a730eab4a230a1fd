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
