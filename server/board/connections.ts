import type { NodeKind } from "./document.ts";

/** What an edge between two kinds of node means. */
export type EdgeMeaning =
  | "handles" // command → aggregate: the aggregate handles the command
  | "emits" // aggregate → event
  | "triggers" // event → policy
  | "issues" // policy → command
  | "projects" // event → read model
  | "schedules" // event → timer: the event starts the timer
  | "fires" // timer → policy
  | "invokes" // actor → command
  | "delivers" // command or event → external system
  | "receives"; // external system → command or event

const meanings: Partial<Record<NodeKind, Partial<Record<NodeKind, EdgeMeaning>>>> = {
  command: { aggregate: "handles", externalSystem: "delivers" },
  aggregate: { event: "emits" },
  event: { policy: "triggers", readModel: "projects", timer: "schedules", externalSystem: "delivers" },
  policy: { command: "issues" },
  timer: { policy: "fires" },
  actor: { command: "invokes" },
  externalSystem: { command: "receives", event: "receives" },
};

export type ConnectionVerdict = { ok: true; meaning: EdgeMeaning } | { ok: false; reason: string };

const article = (kind: NodeKind) => (kind === "aggregate" || kind === "event" || kind === "externalSystem" || kind === "actor" ? "an" : "a");
export const kindLabel: Record<NodeKind, string> = {
  context: "context",
  command: "command",
  event: "event",
  aggregate: "aggregate",
  policy: "policy",
  readModel: "read model",
  externalSystem: "external system",
  timer: "timer",
  actor: "actor",
};
const named = (kind: NodeKind) => `${article(kind)} ${kindLabel[kind]}`;

/** Specific advice for the connections people try most often. */
const advice: Partial<Record<`${NodeKind}->${NodeKind}`, string>> = {
  "event->command": "an event cannot issue a command; put a policy between them",
  "command->event": "a command does not produce events by itself; put an aggregate between them that handles the command and emits the event",
  "command->command": "a command cannot send another command; let an aggregate emit an event and a policy issue the next command",
  "event->event": "an event cannot cause another event directly; put a policy and a command (handled by an aggregate) between them",
  "policy->event": "a policy issues commands, not events; connect it to a command",
  "event->aggregate": "an aggregate reacts to commands, not events; put a policy that issues a command between them",
  "aggregate->command": "an aggregate emits events; a policy issues the next command",
  "readModel->command": "a read model is for reading; it cannot issue commands",
  "policy->policy": "a policy reacts to events; connect it to the command it issues",
  "command->policy": "a policy is triggered by events, not commands",
  "aggregate->aggregate": "aggregates talk through events: emit an event and let a policy issue a command to the other aggregate",
};

export function connectionVerdict(source: NodeKind, target: NodeKind): ConnectionVerdict {
  if (source === "context" || target === "context") {
    return { ok: false, reason: "contexts are containers: drag elements into a context instead of connecting to it" };
  }
  const meaning = meanings[source]?.[target];
  if (meaning) return { ok: true, meaning };
  const reason = advice[`${source}->${target}`] ?? `${named(source)} cannot connect to ${named(target)}`;
  return { ok: false, reason };
}
