import WebSocket from 'ws';

/** How long the first connection to a gateway may take before the run is given up. */
export const PREFLIGHT_TIMEOUT_MS = 5000;

/** No gateway answers at a URL: the run cannot start, and the reason is all the user needs. */
export class GatewayUnreachableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GatewayUnreachableError';
  }
}

/** What a failed upgrade means, in words that point at the fix. */
function reasonOf(err: Error & { code?: string }): string {
  switch (err.code) {
    case 'ECONNREFUSED':
      return 'connection refused; is a gateway running there?';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'the host name does not resolve; check the URL';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return 'the host is not reachable; check the URL and the network';
    default:
      return `${err.message}; is a Flow gateway serving /ws there?`;
  }
}

/**
 * Opens and closes one WebSocket to `url`. The clients of a run reconnect
 * forever, as real clients do, so without this a wrong URL would show only
 * as joins that never answer, after the setup timeout.
 */
export function checkGateway(url: string, timeoutMs = PREFLIGHT_TIMEOUT_MS): Promise<void> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false, handshakeTimeout: timeoutMs });
    const fail = (reason: string) => {
      ws.removeAllListeners();
      ws.on('error', () => undefined);
      ws.terminate();
      reject(new GatewayUnreachableError(`cannot connect to ${url}: ${reason}`));
    };
    ws.once('open', () => {
      ws.removeAllListeners();
      ws.on('error', () => undefined);
      ws.close(1000, 'load test preflight');
      resolve();
    });
    ws.once('unexpected-response', (_req, res) =>
      fail(`the server answered HTTP ${res.statusCode}; is a Flow gateway serving /ws there?`),
    );
    ws.once('error', (err: Error & { code?: string }) =>
      fail(
        /handshake has timed out/i.test(err.message)
          ? `no answer within ${timeoutMs / 1000} s; is a gateway running there?`
          : reasonOf(err),
      ),
    );
  });
}

/** Checks every URL of the run, all at once. */
export async function checkGateways(urls: readonly string[]): Promise<void> {
  await Promise.all(urls.map((url) => checkGateway(url)));
}
