/**
 * Auto-layout with ELK's layered algorithm: causality runs left to right, each context is a
 * group around its members, and edges between contexts are routed at the top level. Building
 * the ELK graph and reading its answer are pure; running ELK is the caller's business (the
 * editor loads it on demand).
 */
import type { ElkExtendedEdge, ElkNode } from "elkjs/lib/elk-api.js";
import { connectionVerdict } from "@/server/board/connections.ts";
import type { BoardGraph, FlowNode } from "./flow-types.ts";
import { nodeSize, orderParentsFirst } from "./graph.ts";

export const LAYOUT_ROOT_ID = "__board__";

const rootOptions = {
  "elk.algorithm": "layered",
  "elk.direction": "RIGHT",
  "elk.hierarchyHandling": "INCLUDE_CHILDREN",
  "elk.layered.spacing.nodeNodeBetweenLayers": "72",
  "elk.spacing.nodeNode": "32",
  "elk.spacing.componentComponent": "64",
  "elk.layered.nodePlacement.strategy": "NETWORK_SIMPLEX",
  "elk.layered.considerModelOrder.strategy": "NODES_AND_EDGES",
};
const contextOptions = { "elk.padding": "[top=56,left=32,bottom=32,right=32]" };
export const EMPTY_CONTEXT_SIZE = { width: 280, height: 160 };

export function layoutInput(graph: BoardGraph): ElkNode {
  const byId = new Map(graph.nodes.map((node) => [node.id, node]));
  const contextOf = (node: FlowNode) => (node.parentId && byId.get(node.parentId)?.type === "context" ? node.parentId : undefined);
  const groups = new Map<string, ElkNode>();
  const root: ElkNode = { id: LAYOUT_ROOT_ID, layoutOptions: rootOptions, children: [], edges: [] };
  for (const node of graph.nodes) {
    if (node.type !== "context") continue;
    const group: ElkNode = { id: node.id, layoutOptions: contextOptions, children: [], edges: [] };
    groups.set(node.id, group);
    root.children!.push(group);
  }
  for (const node of graph.nodes) {
    if (node.type === "context") continue;
    const context = contextOf(node);
    (context ? groups.get(context)! : root).children!.push({ id: node.id, ...nodeSize(node) });
  }
  for (const group of groups.values()) {
    // ELK gives an empty compound node no useful size.
    if (group.children!.length === 0) Object.assign(group, EMPTY_CONTEXT_SIZE);
  }
  for (const edge of graph.edges) {
    const source = byId.get(edge.source);
    const target = byId.get(edge.target);
    if (!source || !target || !connectionVerdict(source.type, target.type).ok) continue;
    const sourceContext = contextOf(source);
    const sameContext = sourceContext !== undefined && sourceContext === contextOf(target);
    const elkEdge: ElkExtendedEdge = { id: edge.id, sources: [source.id], targets: [target.id] };
    (sameContext ? groups.get(sourceContext)! : root).edges!.push(elkEdge);
  }
  return root;
}

/** Places every node where ELK put it; children of a group are relative to it, as in React Flow. */
export function applyLayout(graph: BoardGraph, laidOut: ElkNode): BoardGraph {
  const placed = new Map<string, ElkNode>();
  const collect = (parent: ElkNode) => {
    for (const child of parent.children ?? []) {
      placed.set(child.id, child);
      collect(child);
    }
  };
  collect(laidOut);
  const nodes = graph.nodes.map((node) => {
    const place = placed.get(node.id);
    if (!place) return node;
    const position = { x: Math.round(place.x ?? 0), y: Math.round(place.y ?? 0) };
    if (node.type !== "context") return { ...node, position };
    return { ...node, position, width: Math.round(place.width ?? EMPTY_CONTEXT_SIZE.width), height: Math.round(place.height ?? EMPTY_CONTEXT_SIZE.height) };
  });
  return { ...graph, nodes: orderParentsFirst(nodes) };
}
