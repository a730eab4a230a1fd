import type { DocumentHandle } from '../../../src/client';
import type { DocState, EventRecord } from '../../../src/protocol';
import type { SubmitRecord } from './submit-log';

/** The server's side of one document: its history from seq 1 and its current state. */
export interface ServerDocument {
  doc: string;
  epoch: string;
  seq: number;
  state: DocState;
  history: EventRecord[];
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/**
 * The promises the SDK makes, checked against the server:
 * - a resolved submit names the event its ops became (client and ops at that seq);
 * - a submit rejected with a server error was not applied (UNCONFIRMED excepted:
 *   it says the SDK cannot tell);
 * - every client ends with the server's confirmed state and seq, nothing pending.
 */
export function checkSubmits(
  records: readonly SubmitRecord[],
  servers: ReadonlyMap<string, ServerDocument>,
): string[] {
  const findings: string[] = [];
  for (const record of records) {
    const server = servers.get(record.doc);
    if (!server) {
      findings.push(`no server history for ${record.doc}`);
      continue;
    }
    const { outcome } = record;
    if (outcome.kind === 'pending') {
      findings.push(`a submit of ${record.client} on ${record.doc} never settled`);
    } else if (outcome.kind === 'resolved') {
      const event = server.history.find((e) => e.seq === outcome.seq);
      if (outcome.seq === null || !event)
        findings.push(
          `${record.client} resolved with seq ${String(outcome.seq)}, not in the history`,
        );
      else if (event.client !== record.client || !same(event.ops, record.ops))
        findings.push(`${record.client} resolved with seq ${outcome.seq}, which holds another op`);
    } else if (outcome.code !== 'UNCONFIRMED') {
      const applied = server.history.some(
        (e) => e.client === record.client && same(e.ops, record.ops),
      );
      if (applied)
        findings.push(`${record.client} was refused ${outcome.code} for an op that was applied`);
    }
  }
  return findings;
}

export function checkReplica(
  client: string,
  handle: DocumentHandle,
  server: ServerDocument,
): string[] {
  const findings: string[] = [];
  if (handle.pendingCount !== 0)
    findings.push(`${client} still has ${handle.pendingCount} pending`);
  if (handle.epoch !== server.epoch || handle.seq !== server.seq)
    findings.push(
      `${client} is at ${handle.epoch}/${handle.seq}, the server at ${server.epoch}/${server.seq}`,
    );
  else if (!same(sorted(handle.confirmedState), sorted(server.state)))
    findings.push(`${client} has another state than the server at seq ${server.seq}`);
  return findings;
}

/** A state with its keys in order, for comparing JSON text. */
function sorted(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sorted);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((key) => [key, sorted((value as Record<string, unknown>)[key])]),
  );
}
