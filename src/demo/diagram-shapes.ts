import type { JsonObject } from '../client';
import { svgElement } from './svg';

/** Canvas coordinates, in CSS pixels from the top left of the SVG. */
export interface Point {
  x: number;
  y: number;
}

/** A node entity of the `nodes` collection as the page draws it. */
export interface NodeBox extends Point {
  label: string;
}

export const NODE_WIDTH = 140;
export const NODE_HEIGHT = 44;

/** A node from its entity; undefined for one without numeric x and y (someone else's data). */
export function nodeOf(entity: Readonly<JsonObject> | undefined): NodeBox | undefined {
  if (!entity) return undefined;
  const { x, y, label } = entity;
  if (typeof x !== 'number' || typeof y !== 'number') return undefined;
  return { x, y, label: typeof label === 'string' ? label : '' };
}

export function isInside(point: Point, node: Point): boolean {
  return (
    point.x >= node.x &&
    point.x <= node.x + NODE_WIDTH &&
    point.y >= node.y &&
    point.y <= node.y + NODE_HEIGHT
  );
}

/** The arrow head every edge ends with (`marker-end: url(#arrow)` in the style sheet). */
export function arrowDefinition(): SVGDefsElement {
  const defs = svgElement('defs', {});
  const marker = svgElement('marker', {
    id: 'arrow',
    viewBox: '0 0 10 10',
    refX: '10',
    refY: '5',
    markerWidth: '8',
    markerHeight: '8',
    orient: 'auto-start-reverse',
  });
  marker.append(svgElement('path', { d: 'M 0 0 L 10 5 L 0 10 z', fill: '#8792a8' }));
  defs.append(marker);
  return defs;
}

/** A node's group: its box, its label and the port edges are dragged from. */
export function nodeElement(id: string): SVGGElement {
  const element = svgElement('g', { class: 'node', 'data-id': id });
  element.append(
    svgElement('rect', { width: String(NODE_WIDTH), height: String(NODE_HEIGHT) }),
    svgElement('text', { x: '12', y: String(NODE_HEIGHT / 2 + 5) }),
    svgElement('circle', {
      class: 'port',
      cx: String(NODE_WIDTH),
      cy: String(NODE_HEIGHT / 2),
      r: '6',
    }),
  );
  return element;
}

/** A curve from the right middle of `from` to the left middle of `to`. */
export function edgePath(from: Point, to: Point): string {
  const x1 = from.x + NODE_WIDTH;
  const y1 = from.y + NODE_HEIGHT / 2;
  const x2 = to.x;
  const y2 = to.y + NODE_HEIGHT / 2;
  const bend = Math.max(40, Math.abs(x2 - x1) / 2);
  return `M ${x1} ${y1} C ${x1 + bend} ${y1}, ${x2 - bend} ${y2}, ${x2} ${y2}`;
}
