import type { AnomalyList } from './anomalies';
import type { ServerDocument } from './document-log';
import type { ClientDocHistory } from './history';

/**
 * The checks of the end of a run: where each client's replica ended against
 * what the server answered, and, with a document store, the store's snapshot
 * against the server.
 */

/** The replica each client holds at the end against the server's answer. */
export function checkFinal(
  doc: string,
  histories: readonly ClientDocHistory[],
  server: ServerDocument | null,
  hadOps: boolean,
  anomalies: AnomalyList,
): void {
  if (!server) {
    if (hadOps)
      anomalies.add({
        kind: 'missing-document',
        doc,
        detail: 'GET /docs/:doc answered 404 although clients saw ops applied to it',
      });
    return;
  }
  for (const h of histories) {
    const { final, client } = h;
    if (!final) {
      anomalies.add({ kind: 'behind', doc, client, detail: 'never joined the document' });
    } else if (final.epoch !== server.epoch) {
      anomalies.add({
        kind: 'epoch-changed',
        doc,
        client,
        detail: `the client holds epoch ${final.epoch}, the server has ${server.epoch}`,
      });
    } else if (final.seq !== server.seq) {
      anomalies.add({
        kind: 'behind',
        doc,
        client,
        seq: final.seq,
        detail: `the client ended at seq ${final.seq}, the server is at seq ${server.seq}`,
      });
    } else if (final.digest !== server.digest) {
      anomalies.add({
        kind: 'state-mismatch',
        doc,
        client,
        seq: final.seq,
        detail: `at seq ${final.seq} the client's state (digest ${final.digest}) differs from the server's (${server.digest})`,
      });
    }
  }
}

/** The document store's snapshot against the server's answer at the end of the run. */
export function checkStored(
  doc: string,
  server: ServerDocument,
  stored: ServerDocument | null,
  anomalies: AnomalyList,
): void {
  if (server.seq === 0) return;
  if (!stored || stored.epoch !== server.epoch || stored.seq < server.seq) {
    anomalies.add({
      kind: 'store-behind',
      doc,
      detail: stored
        ? `the store holds seq ${stored.seq} of epoch ${stored.epoch}; the server is at seq ${server.seq} of epoch ${server.epoch}`
        : `the store has no snapshot; the server is at seq ${server.seq}`,
    });
  } else if (stored.seq > server.seq || stored.digest !== server.digest) {
    anomalies.add({
      kind: 'store-mismatch',
      doc,
      seq: stored.seq,
      detail: `the store holds seq ${stored.seq} (digest ${stored.digest}); the server has seq ${server.seq} (digest ${server.digest})`,
    });
  }
}
