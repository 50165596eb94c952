/**
 * Positions for a board with ELK's layered layout: causality runs left to right, each context is
 * a group around its elements, and elements outside contexts (actors, external systems) sit
 * beside them. Every node gets the width and height it was laid out with, so the canvas can draw
 * it at that size.
 */
import ELK from "elkjs/lib/elk.bundled.js";
import type { ElkExtendedEdge, ElkNode } from "elkjs/lib/elk-api.js";
import { connectionVerdict } from "../board/connections.ts";
import type { BoardDocument, BoardNode, NodeKind } from "../board/document.ts";

export const layoutNodeSize: Record<Exclude<NodeKind, "context">, { width: number; height: number }> = {
  command: { width: 180, height: 80 },
  event: { width: 180, height: 80 },
  aggregate: { width: 200, height: 96 },
  policy: { width: 180, height: 80 },
  readModel: { width: 200, height: 96 },
  externalSystem: { width: 200, height: 80 },
  timer: { width: 140, height: 64 },
  actor: { width: 140, height: 64 },
};

const graphOptions = {
  "elk.algorithm": "layered",
  "elk.direction": "RIGHT",
  "elk.hierarchyHandling": "INCLUDE_CHILDREN",
  "elk.layered.spacing.nodeNodeBetweenLayers": "72",
  "elk.spacing.nodeNode": "32",
  "elk.spacing.componentComponent": "64",
  "elk.layered.nodePlacement.strategy": "NETWORK_SIMPLEX",
  "elk.layered.considerModelOrder.strategy": "NODES_AND_EDGES",
  "elk.layered.cycleBreaking.strategy": "DEPTH_FIRST",
};
const contextOptions = { "elk.padding": "[top=56,left=32,bottom=32,right=32]" };

const elk = new ELK();

/**
 * How many steps each node is from where things begin (nodes nothing leads to). ELK is given the
 * nodes in this order and breaks cycles by it, so the flow reads from its start, left to right.
 */
function causalRanks(board: BoardDocument, byId: ReadonlyMap<string, BoardNode>): Map<string, number> {
  const successors = new Map<string, string[]>();
  const hasPredecessor = new Set<string>();
  for (const edge of board.edges) {
    const source = byId.get(edge.source);
    const target = byId.get(edge.target);
    if (!source || !target || !connectionVerdict(source.type, target.type).ok) continue;
    successors.set(source.id, [...(successors.get(source.id) ?? []), target.id]);
    hasPredecessor.add(target.id);
  }
  const isStart = (node: BoardNode) => node.type === "event" && node.data.lifecycle === "start";
  const roots = board.nodes.filter((node) => node.type !== "context" && (!hasPredecessor.has(node.id) || isStart(node)));
  const ranks = new Map<string, number>(roots.map((node) => [node.id, 0]));
  const queue = roots.map((node) => node.id);
  for (let head = 0; head < queue.length; head++) {
    const id = queue[head] as string;
    for (const next of successors.get(id) ?? []) {
      if (ranks.has(next)) continue;
      ranks.set(next, (ranks.get(id) as number) + 1);
      queue.push(next);
    }
  }
  return ranks;
}

/** The same board with every node placed; edges and data are untouched. */
export async function layoutBoard(board: BoardDocument): Promise<BoardDocument> {
  const byId = new Map(board.nodes.map((node) => [node.id, node]));
  const ranks = causalRanks(board, byId);
  const rankOf = (id: string) => ranks.get(id) ?? Number.MAX_SAFE_INTEGER;
  const contextOf = (node: BoardNode) => (node.parentId && byId.get(node.parentId)?.type === "context" ? node.parentId : undefined);
  const groups = new Map<string, ElkNode>();
  const root: ElkNode = { id: "__board__", layoutOptions: graphOptions, children: [], edges: [] };
  for (const node of board.nodes) {
    if (node.type !== "context") continue;
    const group: ElkNode = { id: node.id, layoutOptions: contextOptions, children: [], edges: [] };
    groups.set(node.id, group);
    root.children?.push(group);
  }
  for (const node of board.nodes) {
    if (node.type === "context") continue;
    const context = contextOf(node);
    (context ? groups.get(context) : root)?.children?.push({ id: node.id, ...layoutNodeSize[node.type] });
  }
  const byRank = (nodes: ElkNode[]) => nodes.map((node, index) => ({ node, index, rank: rankOf(node.id) })).sort((a, b) => a.rank - b.rank || a.index - b.index);
  for (const group of groups.values()) {
    group.children = byRank(group.children ?? []).map(({ node }) => node);
    const first = group.children[0];
    ranks.set(group.id, first ? rankOf(first.id) : Number.MAX_SAFE_INTEGER);
    // ELK cannot lay out an empty compound node at a useful size.
    if (group.children.length === 0) Object.assign(group, { width: 240, height: 160 });
  }
  root.children = byRank(root.children ?? []).map(({ node }) => node);
  for (const edge of board.edges) {
    const source = byId.get(edge.source);
    const target = byId.get(edge.target);
    if (!source || !target || !connectionVerdict(source.type, target.type).ok) continue;
    const sourceContext = contextOf(source);
    const elkEdge: ElkExtendedEdge = { id: edge.id, sources: [source.id], targets: [target.id] };
    const owner = sourceContext && sourceContext === contextOf(target) ? groups.get(sourceContext) : root;
    owner?.edges?.push(elkEdge);
  }
  const laidOut = await elk.layout(root);
  const placed = new Map<string, { x: number; y: number; width: number; height: number }>();
  const collect = (node: ElkNode) => {
    for (const child of node.children ?? []) {
      placed.set(child.id, { x: Math.round(child.x ?? 0), y: Math.round(child.y ?? 0), width: Math.round(child.width ?? 0), height: Math.round(child.height ?? 0) });
      collect(child);
    }
  };
  collect(laidOut);
  return {
    ...board,
    nodes: board.nodes.map((node) => {
      const place = placed.get(node.id);
      if (!place) return node;
      return { ...node, position: { x: place.x, y: place.y }, width: place.width, height: place.height };
    }),
  };
}
