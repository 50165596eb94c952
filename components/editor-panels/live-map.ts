/**
 * From the live event stream to the canvas: which nodes a stored event is about, per-node
 * counters, which edges the flow just took, and each context's fault state.
 * Definition element ids are the board's node ids, so runtime records name nodes directly;
 * domain events are found by their name.
 */
import type { BoardDocument } from "@/server/board/document.ts";

export interface LiveEvent {
  type: string;
  data: unknown;
}

export interface LiveIndex {
  eventIdsByName: ReadonlyMap<string, string>;
}

export function liveIndexOf(document: Pick<BoardDocument, "nodes">): LiveIndex {
  const eventIdsByName = new Map<string, string>();
  for (const node of document.nodes) if (node.type === "event") eventIdsByName.set(node.data.name, node.id);
  return { eventIdsByName };
}

export type LiveHit =
  /** The message passed these nodes; `counted` is the one whose handled counter rises. */
  | { kind: "flow"; nodeIds: string[]; counted: string }
  | { kind: "failure"; nodeId: string }
  | { kind: "status"; instanceId: string | null; to: string };

const record = (value: unknown): Record<string, unknown> => (typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {});
const refId = (value: unknown): string | undefined => {
  const id = record(value).id;
  return typeof id === "string" ? id : undefined;
};
const text = (value: unknown): string | undefined => (typeof value === "string" ? value : undefined);

export function hitOf(event: LiveEvent, index: LiveIndex): LiveHit | null {
  const data = record(event.data);
  if (!event.type.startsWith("$")) {
    const id = index.eventIdsByName.get(event.type);
    return id ? { kind: "flow", nodeIds: [id], counted: id } : null;
  }
  switch (event.type) {
    case "$CommandIssued": {
      const command = refId(data.command);
      if (!command) return null;
      const ids = [text(data.stepId), command, refId(data.handler)].filter((id): id is string => id !== undefined);
      return { kind: "flow", nodeIds: ids, counted: command };
    }
    case "$StepSettled": {
      const step = text(data.stepId);
      return step ? { kind: "flow", nodeIds: [step], counted: step } : null;
    }
    case "$StepFailed":
    case "$StepTimedOut": {
      const step = text(data.stepId);
      return step ? { kind: "failure", nodeId: step } : null;
    }
    case "$StatusChanged":
      return { kind: "status", instanceId: null, to: text(data.to) ?? "unknown" };
    default:
      return null;
  }
}

export interface NodeCounter {
  handled: number;
  failed: number;
  /** Messages in the dead-letter queue. */
  parked: number;
  /** Messages still pending for instances that are stuck. */
  stuck: number;
}
export type NodeCounters = Readonly<Record<string, NodeCounter>>;

const zero: NodeCounter = { handled: 0, failed: 0, parked: 0, stuck: 0 };

/** `outbox` replaces the parked and stuck counts with the latest ones read from the runtime. */
export type CounterAction = { kind: "hit"; hit: LiveHit } | { kind: "outbox"; parked: Readonly<Record<string, number>>; stuck: Readonly<Record<string, number>> } | { kind: "reset" };

export function countersReducer(counters: NodeCounters, action: CounterAction): NodeCounters {
  switch (action.kind) {
    case "hit": {
      const { hit } = action;
      switch (hit.kind) {
        case "flow": {
          const current = counters[hit.counted] ?? zero;
          return { ...counters, [hit.counted]: { ...current, handled: current.handled + 1 } };
        }
        case "failure": {
          const current = counters[hit.nodeId] ?? zero;
          return { ...counters, [hit.nodeId]: { ...current, failed: current.failed + 1 } };
        }
        case "status":
          return counters;
        default: {
          const unreachable: never = hit;
          return unreachable;
        }
      }
    }
    case "outbox": {
      const next: Record<string, NodeCounter> = {};
      for (const [id, counter] of Object.entries(counters)) next[id] = { ...counter, parked: 0, stuck: 0 };
      for (const [id, parked] of Object.entries(action.parked)) next[id] = { ...(next[id] ?? zero), parked };
      for (const [id, stuck] of Object.entries(action.stuck)) next[id] = { ...(next[id] ?? zero), stuck };
      return next;
    }
    case "reset":
      return {};
    default: {
      const unreachable: never = action;
      return unreachable;
    }
  }
}

/** Outbox messages per node: the target (aggregate, external system) and the command itself. */
export function outboxByNode(messages: readonly { targetId: string; type: string }[], commandIdsByName: ReadonlyMap<string, string>): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const message of messages) {
    counts[message.targetId] = (counts[message.targetId] ?? 0) + 1;
    const command = commandIdsByName.get(message.type);
    if (command && command !== message.targetId) counts[command] = (counts[command] ?? 0) + 1;
  }
  return counts;
}

export function commandIdsOf(document: Pick<BoardDocument, "nodes">): Map<string, string> {
  const ids = new Map<string, string>();
  for (const node of document.nodes) if (node.type === "command") ids.set(node.data.name, node.id);
  return ids;
}

/** Edges into the nodes just hit from nodes hit within the window: the path the flow took. */
export function edgesOnPath(edges: readonly { id: string; source: string; target: string }[], hitIds: readonly string[], lastHitAt: ReadonlyMap<string, number>, now: number, windowMs: number): string[] {
  const hit = new Set(hitIds);
  return edges
    .filter((edge) => {
      if (!hit.has(edge.target)) return false;
      if (hit.has(edge.source)) return true;
      const at = lastHitAt.get(edge.source);
      return at !== undefined && now - at <= windowMs;
    })
    .map((edge) => edge.id);
}

export type ContextState = "up" | "down" | "slow" | "failing";

export function contextState(settings: { down: boolean; latencyMs: number; failureRate: number }): ContextState {
  if (settings.down) return "down";
  if (settings.failureRate > 0) return "failing";
  if (settings.latencyMs > 0) return "slow";
  return "up";
}

/** The settings that put a context into `state`. */
export function settingsFor(state: ContextState): { down: boolean; latencyMs: number; failureRate: number } {
  switch (state) {
    case "up":
      return { down: false, latencyMs: 0, failureRate: 0 };
    case "down":
      return { down: true, latencyMs: 0, failureRate: 0 };
    case "slow":
      return { down: false, latencyMs: 3000, failureRate: 0 };
    case "failing":
      return { down: false, latencyMs: 0, failureRate: 0.5 };
    default: {
      const unreachable: never = state;
      return unreachable;
    }
  }
}
