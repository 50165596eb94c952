import { kindLabel } from "@/server/board/connections.ts";
import { emptyPayloadSchema, type NodeData, type NodeKind } from "@/server/board/document.ts";
import type { Size } from "./flow-types.ts";

/** Sticky-note sizes; the same as the compiler's layout uses, so templates and new notes match. */
export const defaultNodeSize: Record<NodeKind, Size> = {
  context: { width: 520, height: 320 },
  command: { width: 180, height: 80 },
  event: { width: 180, height: 80 },
  aggregate: { width: 200, height: 96 },
  policy: { width: 180, height: 80 },
  readModel: { width: 200, height: 96 },
  externalSystem: { width: 200, height: 80 },
  timer: { width: 140, height: 64 },
  actor: { width: 140, height: 64 },
};

export const paletteKinds: readonly NodeKind[] = ["context", "actor", "command", "aggregate", "event", "policy", "readModel", "externalSystem", "timer"];

export function titleCase(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
export const kindTitle = (kind: NodeKind) => titleCase(kindLabel[kind]);

/** A new element's data: a placeholder name the user is expected to replace. */
export function defaultNodeData<K extends NodeKind>(kind: K): NodeData<K> {
  const base = { name: `New ${kindLabel[kind]}`, description: "" };
  const data: { [Kind in NodeKind]: NodeData<Kind> } = {
    context: { ...base, name: "New context" },
    command: { ...base, schema: emptyPayloadSchema() },
    event: { ...base, name: "Something happened", schema: emptyPayloadSchema(), visibility: "internal", lifecycle: "none" },
    aggregate: { ...base, idExpression: "command.id", stateFields: [], rules: [], evolutions: [], snapshotEvery: 0 },
    policy: { ...base, mapping: {}, correlationKey: "" },
    readModel: { ...base, fields: [], updates: [] },
    externalSystem: { ...base, binding: { kind: "none" }, inbound: [], outbound: [] },
    timer: { ...base, afterMs: 60_000 },
    actor: { ...base },
  };
  return data[kind] as NodeData<K>;
}
