/**
 * Copy and paste through the system clipboard as JSON text, so a selection travels between
 * boards and browser windows. Pasted elements get fresh ids, and references between them
 * (rules, evolutions, deadlines, bindings) follow the new ids.
 */
import { z } from "zod";
import { boardEdgeSchema, boardNodeSchema, type BoardEdge, type BoardNode, type NodeKind } from "@/server/board/document.ts";
import { integrityProblems } from "@/server/board/migrations.ts";
import type { BoardGraph, FlowNode, Point } from "./flow-types.ts";
import { absolutePosition, edgeToDocument, graphFromDocument, nodeToDocument, orderParentsFirst, type NewId } from "./graph.ts";

export const CLIPBOARD_FORMAT = "sagaboard/selection";

const clipboardSchema = z.object({
  format: z.literal(CLIPBOARD_FORMAT),
  version: z.literal(1),
  nodes: z.array(boardNodeSchema).min(1).max(5000),
  edges: z.array(boardEdgeSchema).max(10000),
});
export type ClipboardPayload = z.infer<typeof clipboardSchema>;

/**
 * The selected nodes (a selected context brings its members) and the edges between them.
 * Nodes whose context is not copied are stored at their absolute position.
 */
export function copySelection(graph: BoardGraph, selectedIds: Iterable<string>): ClipboardPayload | undefined {
  const ids = new Set(selectedIds);
  for (const node of graph.nodes) if (node.parentId && ids.has(node.parentId)) ids.add(node.id);
  const nodes: BoardNode[] = graph.nodes
    .filter((node) => ids.has(node.id))
    .map((node) => {
      const stored = nodeToDocument(node);
      if (!node.parentId || ids.has(node.parentId)) return stored;
      const { parentId: _released, ...rest } = stored;
      return { ...rest, position: absolutePosition(graph, node) } as BoardNode;
    });
  if (nodes.length === 0) return undefined;
  const edges = graph.edges.filter((edge) => ids.has(edge.source) && ids.has(edge.target)).map(edgeToDocument);
  return { format: CLIPBOARD_FORMAT, version: 1, nodes, edges };
}

export const serializeClipboard = (payload: ClipboardPayload) => JSON.stringify(payload);

/** Whatever the clipboard holds, a valid selection or nothing. */
export function parseClipboard(text: string): ClipboardPayload | undefined {
  if (!text.includes(CLIPBOARD_FORMAT)) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return undefined;
  }
  const parsed = clipboardSchema.safeParse(json);
  if (!parsed.success) return undefined;
  const problems = integrityProblems({ schemaVersion: 1, nodes: parsed.data.nodes, edges: parsed.data.edges, process: { stuckAfterMs: 300_000 } });
  return problems.length === 0 ? parsed.data : undefined;
}

/** Rewrites every node id a node's data refers to. */
export function remapReferences(node: BoardNode, idFor: (id: string) => string): BoardNode {
  switch (node.type) {
    case "aggregate":
      return {
        ...node,
        data: {
          ...node.data,
          rules: node.data.rules.map((rule) => ({
            ...rule,
            command: idFor(rule.command),
            outcome: rule.outcome.kind === "emit" ? { ...rule.outcome, events: rule.outcome.events.map((emitted) => ({ ...emitted, event: idFor(emitted.event) })) } : rule.outcome,
          })),
          evolutions: node.data.evolutions.map((evolution) => ({ ...evolution, event: idFor(evolution.event) })),
        },
      };
    case "policy":
      return {
        ...node,
        data: {
          ...node.data,
          ...(node.data.deadline ? { deadline: { ...node.data.deadline, ...(node.data.deadline.onTimeout ? { onTimeout: idFor(node.data.deadline.onTimeout) } : {}) } } : {}),
          ...(node.data.compensation ? { compensation: idFor(node.data.compensation) } : {}),
        },
      };
    case "readModel":
      return { ...node, data: { ...node.data, updates: node.data.updates.map((update) => ({ ...update, event: idFor(update.event) })) } };
    case "externalSystem":
      return {
        ...node,
        data: {
          ...node.data,
          inbound: node.data.inbound.map((route) => ({ ...route, target: idFor(route.target) })),
          outbound: node.data.outbound.map((route) => ({ ...route, source: idFor(route.source) })),
        },
      };
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

export interface PasteResult {
  graph: BoardGraph;
  pastedIds: string[];
}

/**
 * Adds the clipboard's elements shifted by `offset`, with new ids, as the only selection.
 * References to elements outside the pasted set are kept as they are.
 */
export function pasteSelection(graph: BoardGraph, payload: ClipboardPayload, offset: Point, newId: NewId): PasteResult {
  const ids = new Map<string, string>();
  for (const node of payload.nodes) ids.set(node.id, newId(node.type as NodeKind));
  const idFor = (id: string) => ids.get(id) ?? id;
  const pasted = graphFromDocument({
    schemaVersion: 1,
    process: { stuckAfterMs: 300_000 },
    nodes: payload.nodes.map((node) => {
      const remapped = remapReferences(node, idFor);
      const inCopiedContext = node.parentId !== undefined && ids.has(node.parentId);
      return {
        ...remapped,
        id: idFor(node.id),
        ...(inCopiedContext ? { parentId: idFor(node.parentId!) } : {}),
        position: inCopiedContext ? node.position : { x: node.position.x + offset.x, y: node.position.y + offset.y },
      } as BoardNode;
    }),
    edges: payload.edges.map((edge): BoardEdge => ({ ...edge, id: newId("edge"), source: idFor(edge.source), target: idFor(edge.target) })),
  });
  const selectedPaste = pasted.nodes.map((node): FlowNode => ({ ...node, selected: true }));
  const existing = graph.nodes.map((node) => (node.selected ? { ...node, selected: false } : node));
  return {
    graph: {
      nodes: orderParentsFirst([...existing, ...selectedPaste]),
      edges: [...graph.edges.map((edge) => (edge.selected ? { ...edge, selected: false } : edge)), ...pasted.edges],
    },
    pastedIds: selectedPaste.map((node) => node.id),
  };
}
