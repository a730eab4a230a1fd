import { SingleProcessBusyError, StartupError } from '../config/startup-error';

/** How long the holder of a busy port has to answer /ws/stats. */
const ASK_TIMEOUT_MS = 1500;

/** The services of a Flow process, as /ws/stats reports them. */
export interface ServiceModes {
  websockets: string;
  collaboration: string;
  eventOrdering: string;
}

/**
 * Who holds a port this process cannot take: a Flow process (and the modes
 * of its services), or something else. Asked over HTTP, as a standby only
 * makes sense behind a Flow process of the same configuration; anything else
 * on the port would take this process's clients while it waited.
 */
export type PortHolder = { flow: true; node: string; services: ServiceModes } | { flow: false };

export async function askPortHolder(host: string, port: number): Promise<PortHolder> {
  // A wildcard listen address is reached on loopback.
  const address = host === '0.0.0.0' || host === '::' || host === '' ? '127.0.0.1' : host;
  const where = address.includes(':') ? `[${address}]` : address;
  try {
    const res = await fetch(`http://${where}:${port}/ws/stats`, {
      signal: AbortSignal.timeout(ASK_TIMEOUT_MS),
    });
    const body = (await res.json()) as { node?: unknown; services?: Partial<ServiceModes> };
    const services = body.services;
    if (
      res.ok &&
      typeof body.node === 'string' &&
      typeof services?.websockets === 'string' &&
      typeof services.collaboration === 'string' &&
      typeof services.eventOrdering === 'string'
    ) {
      return { flow: true, node: body.node, services: services as ServiceModes };
    }
  } catch {
    // No HTTP answer, or not JSON: not a Flow gateway.
  }
  return { flow: false };
}

export function sameServices(a: ServiceModes, b: ServiceModes): boolean {
  return (
    a.websockets === b.websockets &&
    a.collaboration === b.collaboration &&
    a.eventOrdering === b.eventOrdering
  );
}

const describe = (s: ServiceModes) =>
  `websockets=${s.websockets} collaboration=${s.collaboration} eventOrdering=${s.eventOrdering}`;

/**
 * The error for a port this process could not take exclusively: the
 * standby error unchanged when a Flow process of the same services holds it
 * (this one takes over when it stops), otherwise a StartupError that names
 * the port and PORT (the process exits 1).
 */
export async function explainBusyPort(
  err: unknown,
  host: string,
  port: number,
  own: ServiceModes,
): Promise<unknown> {
  if (!(err instanceof SingleProcessBusyError)) return err;
  const holder = await askPortHolder(host, port);
  if (holder.flow && sameServices(holder.services, own)) return err;
  const who = holder.flow
    ? `another Flow process (${holder.node}) with other services (${describe(holder.services)}; this one: ${describe(own)})`
    : 'another program (it does not answer as a Flow gateway)';
  return new StartupError(
    `cannot listen on ${host}:${port}: ${who} holds the port; stop it, or set PORT to a free port`,
  );
}
