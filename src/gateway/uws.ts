import uWS from 'uWebSockets.js';

/** Thrown when the native uWebSockets.js addon did not load. */
export class UwsUnavailableError extends Error {
  constructor() {
    super(
      `uWebSockets.js has no native build for Node.js ${process.versions.node} on ${process.platform}-${process.arch}; ` +
        'it fell back to a stand-in that cannot run a gateway. Run the gateway on Node.js 20 ' +
        '(see "engines" in package.json) on glibc Linux, macOS or Windows.',
    );
    this.name = 'UwsUnavailableError';
  }
}

/**
 * The addon, checked: on an unsupported Node.js the package silently swaps in
 * a stand-in without publish or upgrade, which would fail much later and
 * obscurely. The native build exposes LIBUS_LISTEN_EXCLUSIVE_PORT.
 */
export function loadUws(): typeof uWS {
  if (
    typeof (uWS as { LIBUS_LISTEN_EXCLUSIVE_PORT?: unknown }).LIBUS_LISTEN_EXCLUSIVE_PORT !==
    'number'
  ) {
    throw new UwsUnavailableError();
  }
  return uWS;
}

export type { uWS };
