import type { NodeData, NodeKind } from "@/server/board/document.ts";
import type { BoardGraph } from "../model/flow-types.ts";
import { fieldsFromSchema } from "../model/payload-fields.ts";

/** What the inspector needs to know about the rest of the board: names, kinds and links. */
export interface CatalogEntry {
  id: string;
  type: NodeKind;
  name: string;
  parentId?: string;
  /** Top-level payload or state field names, for mapping suggestions. */
  fields: string[];
}
export interface Catalog {
  entries: CatalogEntry[];
  byId: Map<string, CatalogEntry>;
  links: { source: string; target: string }[];
}

function fieldNames(type: NodeKind, data: NodeData<NodeKind>): string[] {
  switch (type) {
    case "command":
    case "event":
      return fieldsFromSchema((data as NodeData<"command">).schema).map((field) => field.name);
    case "aggregate":
      return (data as NodeData<"aggregate">).stateFields.map((field) => field.name);
    case "readModel":
      return (data as NodeData<"readModel">).fields.map((field) => field.name);
    default:
      return [];
  }
}

export function buildCatalog(graph: BoardGraph): Catalog {
  const entries = graph.nodes.map((node) => ({ id: node.id, type: node.type, name: node.data.name, parentId: node.parentId, fields: fieldNames(node.type, node.data) }));
  return { entries, byId: new Map(entries.map((entry) => [entry.id, entry])), links: graph.edges.map((edge) => ({ source: edge.source, target: edge.target })) };
}

export const ofKind = (catalog: Catalog, ...kinds: NodeKind[]) => catalog.entries.filter((entry) => kinds.includes(entry.type));
export const targetsOf = (catalog: Catalog, id: string, ...kinds: NodeKind[]) =>
  catalog.links.filter((link) => link.source === id).map((link) => catalog.byId.get(link.target)).filter((entry): entry is CatalogEntry => entry !== undefined && kinds.includes(entry.type));
export const sourcesOf = (catalog: Catalog, id: string, ...kinds: NodeKind[]) =>
  catalog.links.filter((link) => link.target === id).map((link) => catalog.byId.get(link.source)).filter((entry): entry is CatalogEntry => entry !== undefined && kinds.includes(entry.type));

/** Options for choosing a node: the connected ones first, then the rest. */
export function nodeOptions(catalog: Catalog, kinds: NodeKind[], preferred: CatalogEntry[], current?: string): { value: string; label: string }[] {
  const preferredIds = new Set(preferred.map((entry) => entry.id));
  const others = ofKind(catalog, ...kinds).filter((entry) => !preferredIds.has(entry.id));
  const options = [...preferred, ...others].map((entry) => ({ value: entry.id, label: preferredIds.has(entry.id) ? `${entry.name} (connected)` : entry.name }));
  if (current && !catalog.byId.has(current)) options.unshift({ value: current, label: `missing element (${current})` });
  return options;
}
