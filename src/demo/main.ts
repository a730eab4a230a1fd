/**
 * The demo page the gateway serves at `/`: a small flow-diagram editor on
 * the SDK. Open the same address (`/?doc=team-1`) in two windows to edit one
 * document together, through one gateway or several.
 */
import { FlowClient, type DocumentHandle, type JsonObject } from '../client';
import { DOC_ID_PATTERN } from '../protocol/limits';
import { DiagramView } from './diagram-view';
import { pickIdentity } from './identity';
import { PresenceView, type DemoPresence } from './presence-view';
import { StatusView } from './status-view';

const DEFAULT_DOC = 'demo';
/** Presence goes out at most this often; the gateway drops more than 30 a second. */
const PRESENCE_INTERVAL_MS = 50;

function byId<T extends Element>(id: string): T {
  const element = document.getElementById(id);
  if (!element) throw new Error(`the page has no #${id}`);
  return element as unknown as T;
}

/** The document id from `?doc=`, written back into the address so that it can be shared. */
function documentId(): string {
  const params = new URLSearchParams(location.search);
  const asked = params.get('doc');
  const doc = asked !== null && DOC_ID_PATTERN.test(asked) ? asked : DEFAULT_DOC;
  if (asked !== doc) {
    params.set('doc', doc);
    history.replaceState(null, '', `${location.pathname}?${params.toString()}`);
  }
  return doc;
}

/** Sends the latest presence at most once per interval, the last one always. */
function presenceSender(doc: DocumentHandle, presence: DemoPresence): () => void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let sentAt = 0;
  const send = (): void => {
    timer = undefined;
    sentAt = Date.now();
    const { name, color, cursor, selection } = presence;
    const state: JsonObject = { name, color, selection, cursor: cursor && { ...cursor } };
    try {
      doc.setPresence(state);
    } catch (err) {
      console.warn('presence not sent', err);
    }
  };
  return () => {
    if (timer !== undefined) return;
    timer = setTimeout(send, Math.max(0, sentAt + PRESENCE_INTERVAL_MS - Date.now()));
  };
}

async function main(): Promise<void> {
  const docId = documentId();
  byId<HTMLElement>('doc-name').textContent = docId;
  const params = new URLSearchParams(location.search);
  const me = pickIdentity(params, Math.random);
  const status = new StatusView(byId('status'), byId('seq'), byId('saved'));
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  const client = new FlowClient({
    url: `${scheme}://${location.host}/ws`,
    reconnect: { minDelayMs: 250, maxDelayMs: 2_000 },
  });
  client.on('state', ({ state }) => status.connection(state));
  // Failures no promise reports (a refused token when the server has authentication on,
  // which this page cannot get past): the reason goes to the console and the status tooltip.
  client.on('error', (err) => {
    console.warn('flow', err.code, err.message);
    byId<HTMLElement>('status').title = `${err.code}: ${err.message}`;
  });
  const presence: DemoPresence = { ...me, cursor: null, selection: null };
  const doc = await client.join(docId, {
    presence: { name: me.name, color: me.color, cursor: null, selection: null },
  });
  const sendPresence = presenceSender(doc, presence);
  const label = byId<HTMLInputElement>('label');
  const remove = byId<HTMLButtonElement>('delete');

  const diagram = new DiagramView(byId('canvas'), doc, {
    selected(id) {
      presence.selection = id;
      label.disabled = remove.disabled = id === null;
      label.value = id === null ? '' : (diagram.label(id) ?? '');
      sendPresence();
    },
    pointer(point) {
      presence.cursor = point;
      sendPresence();
    },
  });
  const people = new PresenceView(diagram.overlay, byId('people'), me);

  doc.on('change', () => {
    diagram.render();
    status.refresh();
    const selected = diagram.selected;
    if (selected !== null && document.activeElement !== label) {
      label.value = diagram.label(selected) ?? '';
    }
  });
  // An own op message placed in the order moves the seq without changing the state.
  doc.on('ack', () => status.refresh());
  doc.on('saved', () => status.refresh());
  doc.on('presence', (others) => diagram.showOthersSelection(people.render(others)));

  byId('add-node').addEventListener('click', () => diagram.addNode());
  label.addEventListener('change', () => {
    if (diagram.selected !== null) diagram.rename(diagram.selected, label.value);
  });
  label.addEventListener('keydown', (event) => {
    if (event.key === 'Enter') label.blur();
  });
  remove.addEventListener('click', () => {
    if (diagram.selected !== null) diagram.deleteNode(diagram.selected);
  });
  document.addEventListener('keydown', (event) => {
    const typing = document.activeElement instanceof HTMLInputElement;
    if (
      !typing &&
      diagram.selected !== null &&
      (event.key === 'Delete' || event.key === 'Backspace')
    ) {
      diagram.deleteNode(diagram.selected);
    }
  });

  diagram.render();
  status.document(doc);
  diagram.showOthersSelection(people.render(doc.presence));
  // For the browser console (and the browser tests): the client and the document handle.
  Object.assign(window, { flowDemo: { client, doc } });
}

main().catch((err: unknown) => {
  console.error(err);
  byId<HTMLElement>('status').textContent = 'failed: see the console';
});
