import type { DocumentHandle, JsonObject, Op } from '../client';
import {
  arrowDefinition,
  edgePath,
  isInside,
  nodeElement,
  nodeOf,
  type NodeBox,
  type Point,
} from './diagram-shapes';
import { svgElement } from './svg';

export type { Point } from './diagram-shapes';

export interface DiagramListener {
  /** The selected node changed (null: none). */
  selected(id: string | null): void;
  /** The pointer moved over the canvas (null: it left). */
  pointer(point: Point | null): void;
}

/** A drag sends at most one patch per this many ms, and a last one on release. */
const DRAG_PATCH_MS = 60;
const MAX_LABEL_LENGTH = 60;

interface Drag {
  id: string;
  offset: Point;
  at: Point;
  sentAt: number;
  moved: boolean;
}

function randomId(prefix: string): string {
  return `${prefix}-${Math.random().toString(36).slice(2, 10)}`;
}

/**
 * The diagram as SVG: nodes are boxes in the `nodes` collection
 * (`{x, y, label}`), edges are arrows in `edges` (`{from, to}`). It keeps one
 * element per entity and updates it in place, so that a drag in progress
 * keeps its pointer capture while the others' changes arrive.
 */
export class DiagramView {
  readonly overlay: SVGGElement;
  private readonly edgeLayer: SVGGElement;
  private readonly nodeLayer: SVGGElement;
  private readonly nodes = new Map<string, SVGGElement>();
  private readonly edges = new Map<string, SVGPathElement>();
  private selection: string | null = null;
  private drag: Drag | null = null;
  private linking: { from: string; line: SVGLineElement } | null = null;
  private othersSelection = new Map<string, string>();

  constructor(
    private readonly svg: SVGSVGElement,
    private readonly doc: DocumentHandle,
    private readonly listener: DiagramListener,
  ) {
    this.edgeLayer = svgElement('g', {});
    this.nodeLayer = svgElement('g', {});
    this.overlay = svgElement('g', {});
    svg.append(arrowDefinition(), this.edgeLayer, this.nodeLayer, this.overlay);
    svg.addEventListener('pointerdown', (event) => this.pointerDown(event));
    svg.addEventListener('pointermove', (event) => this.pointerMove(event));
    svg.addEventListener('pointerup', (event) => this.pointerUp(event));
    svg.addEventListener('pointerleave', () => listener.pointer(null));
  }

  get selected(): string | null {
    return this.selection;
  }

  /** The label of a node, for the toolbar. */
  label(id: string): string | undefined {
    return nodeOf(this.doc.state.nodes?.[id])?.label;
  }

  /** Redraws from the document's visible state (and the drag in progress). */
  render(): void {
    const nodes = this.doc.state.nodes ?? {};
    for (const [id, element] of this.nodes) {
      if (!nodeOf(nodes[id])) {
        element.remove();
        this.nodes.delete(id);
      }
    }
    for (const [id, entity] of Object.entries(nodes)) {
      const node = nodeOf(entity);
      if (node) this.drawNode(id, this.drag?.id === id ? { ...node, ...this.drag.at } : node);
    }
    const edges = this.doc.state.edges ?? {};
    for (const [id, element] of this.edges) {
      if (!edges[id]) {
        element.remove();
        this.edges.delete(id);
      }
    }
    for (const [id, edge] of Object.entries(edges)) this.drawEdge(id, edge);
    if (this.selection && !nodes[this.selection]) this.select(null);
  }

  /** Outlines the nodes the others have selected, in their colours (node id -> colour). */
  showOthersSelection(selection: Map<string, string>): void {
    this.othersSelection = selection;
    for (const [id, element] of this.nodes) this.outline(id, element);
  }

  addNode(): void {
    const count = Object.keys(this.doc.state.nodes ?? {}).length;
    const id = randomId('n');
    const value = {
      x: 40 + (count % 5) * 170,
      y: 40 + Math.floor(count / 5) * 90 + (count % 2) * 20,
      label: `Node ${count + 1}`,
    };
    this.submit([{ op: 'set', coll: 'nodes', id, value }]);
    this.select(id);
  }

  rename(id: string, label: string): void {
    const fields = { label: label.slice(0, MAX_LABEL_LENGTH) };
    if (this.label(id) !== undefined) this.submit([{ op: 'patch', coll: 'nodes', id, fields }]);
  }

  /** Deletes a node and every edge that touches it, in one op message. */
  deleteNode(id: string): void {
    const ops: Op[] = [{ op: 'del', coll: 'nodes', id }];
    for (const [edgeId, edge] of Object.entries(this.doc.state.edges ?? {})) {
      if (edge.from === id || edge.to === id) ops.push({ op: 'del', coll: 'edges', id: edgeId });
    }
    // An op message holds at most 100 ops; the node goes with the first one.
    for (let i = 0; i < ops.length; i += 100) this.submit(ops.slice(i, i + 100));
    this.select(null);
  }

  select(id: string | null): void {
    if (this.selection === id) return;
    const previous = this.selection === null ? undefined : this.nodes.get(this.selection);
    previous?.classList.remove('selected');
    this.selection = id;
    if (id !== null) this.nodes.get(id)?.classList.add('selected');
    this.listener.selected(id);
  }

  // ---- drawing ---------------------------------------------------------------

  private drawNode(id: string, node: NodeBox): void {
    let element = this.nodes.get(id);
    if (!element) {
      element = nodeElement(id);
      if (id === this.selection) element.classList.add('selected');
      this.nodeLayer.append(element);
      this.nodes.set(id, element);
      this.outline(id, element);
    }
    element.setAttribute('transform', `translate(${node.x} ${node.y})`);
    const text = element.querySelector('text');
    if (text && text.textContent !== node.label) text.textContent = node.label;
  }

  private drawEdge(id: string, edge: Readonly<JsonObject>): void {
    const from = this.position(edge.from);
    const to = this.position(edge.to);
    let element = this.edges.get(id);
    if (!from || !to) {
      // One end was deleted by someone else: its deletion removes the edge soon.
      element?.setAttribute('d', '');
      return;
    }
    if (!element) {
      element = svgElement('path', { class: 'edge', 'data-id': id });
      this.edgeLayer.append(element);
      this.edges.set(id, element);
    }
    element.setAttribute('d', edgePath(from, to));
  }

  private position(id: unknown): Point | undefined {
    if (typeof id !== 'string') return undefined;
    if (this.drag?.id === id) return this.drag.at;
    return nodeOf(this.doc.state.nodes?.[id]);
  }

  private outline(id: string, element: SVGGElement): void {
    const color = this.othersSelection.get(id);
    const rect = element.querySelector('rect');
    if (color) rect?.style.setProperty('stroke', color);
    else rect?.style.removeProperty('stroke');
  }

  // ---- pointer ---------------------------------------------------------------

  private point(event: PointerEvent): Point {
    const box = this.svg.getBoundingClientRect();
    return { x: Math.round(event.clientX - box.left), y: Math.round(event.clientY - box.top) };
  }

  private nodeAt(point: Point, except?: string): string | undefined {
    for (const [id, entity] of Object.entries(this.doc.state.nodes ?? {})) {
      const node = nodeOf(entity);
      if (!node || id === except) continue;
      if (isInside(point, node)) return id;
    }
    return undefined;
  }

  private pointerDown(event: PointerEvent): void {
    const target = event.target as Element;
    const id = target.closest<SVGGElement>('.node')?.dataset.id;
    const point = this.point(event);
    if (id === undefined) {
      this.select(null);
      return;
    }
    this.svg.setPointerCapture(event.pointerId);
    if (target.classList.contains('port')) {
      const line = svgElement('line', {
        class: 'edge draft',
        x1: String(point.x),
        y1: String(point.y),
        x2: String(point.x),
        y2: String(point.y),
      });
      this.overlay.append(line);
      this.linking = { from: id, line };
      return;
    }
    const node = nodeOf(this.doc.state.nodes?.[id]);
    if (!node) return;
    this.select(id);
    this.drag = {
      id,
      offset: { x: point.x - node.x, y: point.y - node.y },
      at: node,
      sentAt: 0,
      moved: false,
    };
  }

  private pointerMove(event: PointerEvent): void {
    const point = this.point(event);
    this.listener.pointer(point);
    if (this.linking) {
      this.linking.line.setAttribute('x2', String(point.x));
      this.linking.line.setAttribute('y2', String(point.y));
    }
    const drag = this.drag;
    if (!drag) return;
    drag.at = { x: Math.max(0, point.x - drag.offset.x), y: Math.max(0, point.y - drag.offset.y) };
    drag.moved = true;
    this.render();
    if (Date.now() - drag.sentAt >= DRAG_PATCH_MS) this.sendPosition(drag);
  }

  private pointerUp(event: PointerEvent): void {
    const point = this.point(event);
    const linking = this.linking;
    if (linking) {
      this.linking = null;
      linking.line.remove();
      const to = this.nodeAt(point, linking.from);
      if (to) {
        const value = { from: linking.from, to };
        this.submit([{ op: 'set', coll: 'edges', id: `e-${linking.from}-${to}`, value }]);
      }
    }
    const drag = this.drag;
    if (drag) {
      this.drag = null;
      if (drag.moved) this.sendPosition(drag);
      this.render();
    }
  }

  private sendPosition(drag: Drag): void {
    drag.sentAt = Date.now();
    // The node may have been deleted by someone else meanwhile: a patch of a missing entity does nothing.
    this.submit([
      { op: 'patch', coll: 'nodes', id: drag.id, fields: { x: drag.at.x, y: drag.at.y } },
    ]);
  }

  private submit(ops: Op[]): void {
    // A refusal rolls the optimistic change back; the page only notes it.
    this.doc.submit(ops).catch((err: unknown) => console.warn('change refused', err));
  }
}
