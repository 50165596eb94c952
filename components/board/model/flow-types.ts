/**
 * The canvas's view of a board: the document's nodes and edges with React Flow's runtime fields
 * (selection, measured size). Only types come from React Flow; nothing here renders.
 */
import type { Edge, Node } from "@xyflow/react";
import type { EdgeMeaning } from "@/server/board/connections.ts";
import type { NodeData, NodeKind } from "@/server/board/document.ts";

export type FlowNodeOf<K extends NodeKind> = Node<NodeData<K>, K> & { type: K };
export type FlowNode = { [K in NodeKind]: FlowNodeOf<K> }[NodeKind];
export type FlowEdgeData = { meaning: EdgeMeaning };
export type FlowEdge = Edge<FlowEdgeData, "meaning">;

export interface BoardGraph {
  nodes: FlowNode[];
  edges: FlowEdge[];
}

export interface Point {
  x: number;
  y: number;
}
export interface Size {
  width: number;
  height: number;
}
export interface Rect extends Point, Size {}
