/**
 * Pure operations on the board graph. The editor calls these and hands the result to React Flow;
 * each returns a new graph and leaves its input untouched.
 */
import { connectionVerdict, kindLabel } from "@/server/board/connections.ts";
import {
  BOARD_SCHEMA_VERSION,
  type BoardDocument,
  type BoardEdge,
  type BoardNode,
  type NodeData,
  type NodeKind,
} from "@/server/board/document.ts";
import { defaultNodeData, defaultNodeSize } from "./defaults.ts";
import type { BoardGraph, FlowEdge, FlowNode, FlowNodeOf, Point, Rect, Size } from "./flow-types.ts";

/** React Flow draws a child only after its parent: contexts go first, order otherwise kept. */
export function orderParentsFirst<N extends { type: string }>(nodes: readonly N[]): N[] {
  const contexts = nodes.filter((node) => node.type === "context");
  if (contexts.length === 0 || nodes.slice(0, contexts.length).every((node) => node.type === "context")) return nodes as N[];
  return [...contexts, ...nodes.filter((node) => node.type !== "context")];
}

function edgeFromDocument(edge: BoardEdge, kinds: Map<string, NodeKind>): FlowEdge {
  const source = kinds.get(edge.source);
  const target = kinds.get(edge.target);
  const verdict = source && target ? connectionVerdict(source, target) : undefined;
  return {
    id: edge.id,
    source: edge.source,
    target: edge.target,
    ...(edge.sourceHandle != null ? { sourceHandle: edge.sourceHandle } : {}),
    ...(edge.targetHandle != null ? { targetHandle: edge.targetHandle } : {}),
    type: "meaning",
    // A stored edge that no longer makes sense is still shown; the compiler reports it.
    data: { meaning: verdict?.ok ? verdict.meaning : "handles" },
    ...(verdict && !verdict.ok ? { className: "edge-invalid" } : {}),
  };
}

export function graphFromDocument(document: BoardDocument): BoardGraph {
  const kinds = new Map(document.nodes.map((node) => [node.id, node.type]));
  const nodes = orderParentsFirst(document.nodes).map((node) => ({ ...node }) as FlowNode);
  return { nodes, edges: document.edges.map((edge) => edgeFromDocument(edge, kinds)) };
}

/** The stored shape: React Flow's runtime fields (selection, measurements) are dropped. */
export function nodeToDocument(node: FlowNode): BoardNode {
  const stored = {
    id: node.id,
    type: node.type,
    position: { x: Math.round(node.position.x * 100) / 100, y: Math.round(node.position.y * 100) / 100 },
    ...(node.parentId ? { parentId: node.parentId } : {}),
    ...(node.width !== undefined ? { width: Math.round(node.width) } : {}),
    ...(node.height !== undefined ? { height: Math.round(node.height) } : {}),
    data: node.data,
  };
  return stored as BoardNode;
}

export function edgeToDocument(edge: FlowEdge): BoardEdge {
  return {
    id: edge.id,
    source: edge.source,
    target: edge.target,
    ...(edge.sourceHandle != null ? { sourceHandle: edge.sourceHandle } : {}),
    ...(edge.targetHandle != null ? { targetHandle: edge.targetHandle } : {}),
  };
}

export function documentFromGraph(graph: BoardGraph, base: Pick<BoardDocument, "process" | "viewport"> = { process: { stuckAfterMs: 300_000 } }): BoardDocument {
  return {
    schemaVersion: BOARD_SCHEMA_VERSION,
    nodes: graph.nodes.map(nodeToDocument),
    edges: graph.edges.map(edgeToDocument),
    ...(base.viewport ? { viewport: base.viewport } : {}),
    process: base.process,
  };
}

/** The size a node is drawn at: its own, else what React Flow measured, else its kind's. */
export function nodeSize(node: FlowNode): Size {
  return {
    width: node.width ?? node.measured?.width ?? defaultNodeSize[node.type].width,
    height: node.height ?? node.measured?.height ?? defaultNodeSize[node.type].height,
  };
}

export function absolutePosition(graph: BoardGraph, node: FlowNode): Point {
  if (!node.parentId) return node.position;
  const parent = graph.nodes.find((candidate) => candidate.id === node.parentId);
  if (!parent) return node.position;
  return { x: parent.position.x + node.position.x, y: parent.position.y + node.position.y };
}

export function absoluteRect(graph: BoardGraph, node: FlowNode): Rect {
  return { ...absolutePosition(graph, node), ...nodeSize(node) };
}

const contains = (rect: Rect, point: Point) => point.x >= rect.x && point.x <= rect.x + rect.width && point.y >= rect.y && point.y <= rect.y + rect.height;

/** The context under a point; the topmost (last drawn) when contexts overlap. */
export function contextAt(graph: BoardGraph, point: Point, exceptId?: string): FlowNodeOf<"context"> | undefined {
  for (let index = graph.nodes.length - 1; index >= 0; index--) {
    const node = graph.nodes[index]!;
    if (node.type === "context" && node.id !== exceptId && contains(absoluteRect(graph, node), point)) return node;
  }
  return undefined;
}

export type NewId = (kind: NodeKind | "edge") => string;
export const randomId: NewId = (kind) => `${kind}-${crypto.randomUUID().slice(0, 8)}`;

export function createNode<K extends NodeKind>(kind: K, position: Point, id: string, data: Partial<NodeData<K>> = {}): FlowNodeOf<K> {
  return { id, type: kind, position, ...defaultNodeSize[kind], data: { ...defaultNodeData(kind), ...data } } as FlowNodeOf<K>;
}

/**
 * Adds a node at an absolute position; dropped inside a context, an element becomes its member.
 * The new node is the only one selected.
 */
export function addNode(graph: BoardGraph, node: FlowNode): BoardGraph {
  let placed: FlowNode = { ...node, selected: true };
  if (node.type !== "context") {
    const size = nodeSize(node);
    const context = contextAt(graph, { x: node.position.x + size.width / 2, y: node.position.y + size.height / 2 });
    if (context) placed = { ...placed, parentId: context.id, position: { x: node.position.x - context.position.x, y: node.position.y - context.position.y } };
  }
  const deselected = graph.nodes.map((existing) => (existing.selected ? { ...existing, selected: false } : existing));
  return { nodes: orderParentsFirst([...deselected, placed]), edges: graph.edges.map((edge) => (edge.selected ? { ...edge, selected: false } : edge)) };
}

export type ConnectResult = { ok: true; graph: BoardGraph; edge: FlowEdge } | { ok: false; reason: string };

/** Connects two nodes if the connection means something; otherwise says why not. */
export function connectNodes(graph: BoardGraph, sourceId: string, targetId: string, edgeId: string): ConnectResult {
  const source = graph.nodes.find((node) => node.id === sourceId);
  const target = graph.nodes.find((node) => node.id === targetId);
  if (!source || !target) return { ok: false, reason: "both ends of a connection must be elements on the board" };
  if (source.id === target.id) return { ok: false, reason: `${kindLabel[source.type]} "${source.data.name}" cannot connect to itself` };
  const verdict = connectionVerdict(source.type, target.type);
  if (!verdict.ok) return { ok: false, reason: verdict.reason };
  if (graph.edges.some((edge) => edge.source === sourceId && edge.target === targetId)) {
    return { ok: false, reason: `"${source.data.name}" is already connected to "${target.data.name}"` };
  }
  const edge: FlowEdge = { id: edgeId, source: sourceId, target: targetId, type: "meaning", data: { meaning: verdict.meaning } };
  return { ok: true, graph: { ...graph, edges: [...graph.edges, edge] }, edge };
}

/**
 * Removes nodes and edges. A removed context takes its members with it; edges touching a removed
 * node go too.
 */
export function removeElements(graph: BoardGraph, nodeIds: Iterable<string>, edgeIds: Iterable<string> = []): BoardGraph {
  const removedNodes = new Set(nodeIds);
  for (const node of graph.nodes) if (node.parentId && removedNodes.has(node.parentId)) removedNodes.add(node.id);
  const removedEdges = new Set(edgeIds);
  if (removedNodes.size === 0 && removedEdges.size === 0) return graph;
  return {
    nodes: graph.nodes.filter((node) => !removedNodes.has(node.id)).map((node) => withoutReferencesTo(node, removedNodes)),
    edges: graph.edges.filter((edge) => !removedEdges.has(edge.id) && !removedNodes.has(edge.source) && !removedNodes.has(edge.target)),
  };
}

/**
 * A node's data without the parts that name removed elements: the rules of a removed command,
 * emitted events, evolutions and view updates of removed events, routes of removed messages.
 */
export function withoutReferencesTo<N extends FlowNode>(node: N, removed: ReadonlySet<string>): N {
  const gone = (id: string | undefined) => id !== undefined && removed.has(id);
  switch (node.type) {
    case "aggregate": {
      const { data } = node;
      const mentions = data.rules.some((rule) => gone(rule.command) || (rule.outcome.kind === "emit" && rule.outcome.events.some((emit) => gone(emit.event)))) || data.evolutions.some((evolution) => gone(evolution.event));
      if (!mentions) return node;
      const rules = data.rules.flatMap((rule) => {
        if (gone(rule.command)) return [];
        if (rule.outcome.kind !== "emit") return [rule];
        const events = rule.outcome.events.filter((emit) => !gone(emit.event));
        return events.length === 0 ? [] : [{ ...rule, outcome: { ...rule.outcome, events } }];
      });
      return { ...node, data: { ...data, rules, evolutions: data.evolutions.filter((evolution) => !gone(evolution.event)) } };
    }
    case "policy": {
      const { data } = node;
      if (!gone(data.compensation) && !gone(data.deadline?.onTimeout)) return node;
      const next = { ...data };
      if (gone(next.compensation)) delete next.compensation;
      if (next.deadline && gone(next.deadline.onTimeout)) next.deadline = { afterMs: next.deadline.afterMs };
      return { ...node, data: next };
    }
    case "readModel":
      return node.data.updates.some((update) => gone(update.event)) ? { ...node, data: { ...node.data, updates: node.data.updates.filter((update) => !gone(update.event)) } } : node;
    case "externalSystem": {
      const { data } = node;
      if (!data.inbound.some((route) => gone(route.target)) && !data.outbound.some((route) => gone(route.source))) return node;
      return { ...node, data: { ...data, inbound: data.inbound.filter((route) => !gone(route.target)), outbound: data.outbound.filter((route) => !gone(route.source)) } };
    }
    case "context":
    case "command":
    case "event":
    case "timer":
    case "actor":
      return node;
    default: {
      const unreachable: never = node;
      return unreachable;
    }
  }
}

export function updateNodeData<K extends NodeKind>(graph: BoardGraph, id: string, kind: K, update: (data: NodeData<K>) => NodeData<K>): BoardGraph {
  let changed = false;
  const nodes = graph.nodes.map((node) => {
    if (node.id !== id || node.type !== kind) return node;
    const data = update(node.data as NodeData<K>);
    if (data === node.data) return node;
    changed = true;
    return { ...node, data } as FlowNode;
  });
  return changed ? { ...graph, nodes } : graph;
}

/** Moves a node into a context (or out of every context) without moving it on screen. */
export function setNodeContext(graph: BoardGraph, nodeId: string, contextId: string | undefined): BoardGraph {
  const node = graph.nodes.find((candidate) => candidate.id === nodeId);
  if (!node || node.type === "context" || node.parentId === contextId) return graph;
  const context = contextId ? graph.nodes.find((candidate) => candidate.id === contextId && candidate.type === "context") : undefined;
  if (contextId && !context) return graph;
  const absolute = absolutePosition(graph, node);
  const moved: FlowNode = context
    ? { ...node, parentId: context.id, position: { x: absolute.x - context.position.x, y: absolute.y - context.position.y } }
    : { ...node, parentId: undefined, position: absolute };
  if (!context) delete moved.parentId;
  return { ...graph, nodes: orderParentsFirst(graph.nodes.map((candidate) => (candidate.id === nodeId ? moved : candidate))) };
}

/**
 * After a drag: every moved element whose centre now lies in a context becomes its member, and
 * one dragged out of all contexts is released.
 */
export function membershipAfterMove(graph: BoardGraph, movedIds: Iterable<string>): BoardGraph {
  let next = graph;
  for (const id of movedIds) {
    const node = next.nodes.find((candidate) => candidate.id === id);
    if (!node || node.type === "context") continue;
    const rect = absoluteRect(next, node);
    const context = contextAt(next, { x: rect.x + rect.width / 2, y: rect.y + rect.height / 2 });
    next = setNodeContext(next, id, context?.id);
  }
  return next;
}

/** Names that contain the query (case-insensitive), whole-name matches first. */
export function findNodes(graph: BoardGraph, query: string): FlowNode[] {
  const needle = query.trim().toLocaleLowerCase();
  if (!needle) return [];
  const matches = graph.nodes.filter((node) => node.data.name.toLocaleLowerCase().includes(needle));
  const rank = (node: FlowNode) => (node.data.name.toLocaleLowerCase() === needle ? 0 : node.data.name.toLocaleLowerCase().startsWith(needle) ? 1 : 2);
  return matches.sort((a, b) => rank(a) - rank(b) || a.data.name.localeCompare(b.data.name));
}

export function selectOnly(graph: BoardGraph, nodeIds: Iterable<string>): BoardGraph {
  const wanted = new Set(nodeIds);
  return {
    nodes: graph.nodes.map((node) => (Boolean(node.selected) === wanted.has(node.id) ? node : { ...node, selected: wanted.has(node.id) })),
    edges: graph.edges.map((edge) => (edge.selected ? { ...edge, selected: false } : edge)),
  };
}

/** Drops React Flow's transient flags so that history snapshots compare and restore cleanly. */
export function withoutSelection(graph: BoardGraph): BoardGraph {
  return {
    nodes: graph.nodes.map((node) => (node.selected || node.dragging ? { ...node, selected: false, dragging: false } : node)),
    edges: graph.edges.map((edge) => (edge.selected ? { ...edge, selected: false } : edge)),
  };
}

export function nodeLabel(node: FlowNode): string {
  return `${kindLabel[node.type]} "${node.data.name}"`;
}
