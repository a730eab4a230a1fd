import type { JsonObject, PresenceEntry } from '../client';
import type { Point } from './diagram-view';
import type { Identity } from './identity';
import { svgElement } from './svg';

/** What each window shares as its presence state. */
export interface DemoPresence extends Identity {
  cursor: Point | null;
  selection: string | null;
}

function presenceOf(state: Readonly<JsonObject>): DemoPresence {
  const cursor = state.cursor as Partial<Point> | null | undefined;
  return {
    name: typeof state.name === 'string' ? state.name.slice(0, 32) : 'someone',
    color:
      typeof state.color === 'string' && /^#[0-9a-f]{6}$/i.test(state.color)
        ? state.color
        : '#5a6272',
    cursor:
      cursor && typeof cursor.x === 'number' && typeof cursor.y === 'number'
        ? { x: cursor.x, y: cursor.y }
        : null,
    selection: typeof state.selection === 'string' ? state.selection : null,
  };
}

/**
 * The others, from presence: their cursors on the canvas, each with a name
 * and colour, and the list of who is here (this window first).
 */
export class PresenceView {
  private readonly cursors = new Map<string, SVGGElement>();

  constructor(
    private readonly overlay: SVGGElement,
    private readonly people: HTMLUListElement,
    private readonly me: Identity,
  ) {}

  /** Redraws; returns the others' selections (node id -> colour) for the diagram. */
  render(others: ReadonlyMap<string, PresenceEntry>): Map<string, string> {
    const selections = new Map<string, string>();
    const items = [this.item(this.me, ' (you)')];
    for (const [client, entry] of others) {
      const presence = presenceOf(entry.state);
      items.push(this.item(presence, ''));
      if (presence.selection) selections.set(presence.selection, presence.color);
      this.drawCursor(client, presence);
    }
    for (const [client, element] of this.cursors) {
      if (!others.has(client)) {
        element.remove();
        this.cursors.delete(client);
      }
    }
    this.people.replaceChildren(...items);
    return selections;
  }

  private item(identity: Identity, suffix: string): HTMLLIElement {
    const item = document.createElement('li');
    const swatch = document.createElement('span');
    swatch.className = 'swatch';
    swatch.style.background = identity.color;
    item.append(swatch, `${identity.name}${suffix}`);
    return item;
  }

  private drawCursor(client: string, presence: DemoPresence): void {
    let element = this.cursors.get(client);
    if (!element) {
      element = svgElement('g', { class: 'cursor', 'data-client': client });
      element.append(
        svgElement('path', { d: 'M0 0 L0 16 L4 12 L8 20 L11 19 L7 11 L12 11 z' }),
        svgElement('text', { x: '14', y: '24' }),
      );
      this.overlay.append(element);
      this.cursors.set(client, element);
    }
    element.style.display = presence.cursor ? '' : 'none';
    if (presence.cursor)
      element.setAttribute('transform', `translate(${presence.cursor.x} ${presence.cursor.y})`);
    element.querySelector('path')?.setAttribute('fill', presence.color);
    const text = element.querySelector('text');
    if (text) {
      text.textContent = presence.name;
      text.setAttribute('fill', presence.color);
    }
  }
}
