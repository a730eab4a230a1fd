import type { ConnectionState, DocumentHandle } from '../client';

/** What the page says about the connection; "offline" once it has been down for a while. */
export type ShownState = 'connecting' | 'connected' | 'reconnecting' | 'offline';

/** A lost connection reads "reconnecting" this long before the page admits "offline". */
const OFFLINE_AFTER_MS = 2_000;

/**
 * The header's status: connection state, the document's seq, and "All
 * changes saved" once the server reports durable storage. Without a
 * document store the server sends no `savedSeq`, and the indicator stays
 * hidden rather than claiming anything.
 */
export class StatusView {
  private offlineTimer: ReturnType<typeof setTimeout> | undefined;
  private doc: DocumentHandle | undefined;

  constructor(
    private readonly status: HTMLElement,
    private readonly seq: HTMLElement,
    private readonly saved: HTMLElement,
  ) {}

  connection(state: ConnectionState): void {
    if (state === 'open') {
      clearTimeout(this.offlineTimer);
      this.offlineTimer = undefined;
      this.show('connected');
    } else if (state === 'closed') {
      this.show('offline');
    } else if (state === 'reconnecting' && this.offlineTimer === undefined) {
      this.show('reconnecting');
      this.offlineTimer = setTimeout(() => this.show('offline'), OFFLINE_AFTER_MS);
    }
  }

  document(doc: DocumentHandle): void {
    this.doc = doc;
    this.refresh();
  }

  /** Seq and saved state; call after every change of the document. */
  refresh(): void {
    const doc = this.doc;
    if (!doc) return;
    this.seq.textContent = `seq ${doc.seq}`;
    const savedSeq = doc.savedSeq;
    this.saved.hidden = savedSeq === undefined;
    if (savedSeq === undefined) return;
    const allSaved = doc.pendingCount === 0 && savedSeq >= doc.seq;
    this.saved.textContent = allSaved ? 'All changes saved' : 'Saving…';
    this.saved.toggleAttribute('data-saving', !allSaved);
  }

  private show(state: ShownState): void {
    this.status.dataset.state = state;
    this.status.textContent = state;
  }
}
