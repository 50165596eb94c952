/**
 * What changed between two versions of a process definition, element by element (matched by id)
 * with field-level detail for changed elements.
 */
import type { ProcessDefinitionV1 } from "../definition/v1.ts";
import { compareText } from "./diagnostics.ts";

export type DiffCategory = "process" | "contexts" | "actors" | "messages" | "aggregates" | "processManagers" | "steps" | "views" | "timers" | "bindings";

export interface FieldChange {
  /** e.g. "decisions[assess-risk].rules[0].condition.source"; keyed lists use the element's id. */
  path: string;
  /** Absent when the field was added. */
  before?: unknown;
  /** Absent when the field was removed. */
  after?: unknown;
}

export interface ElementChange {
  category: DiffCategory;
  change: "added" | "removed" | "changed";
  id: string;
  name: string;
  /** For messages: command or event. */
  kind?: string;
  /** Field-level detail of a changed element (empty for added and removed ones). */
  fields: FieldChange[];
}

export interface DefinitionDiff {
  changes: ElementChange[];
  counts: { added: number; removed: number; changed: number };
}

interface Element {
  id: string;
  name: string;
  kind?: string;
  value: unknown;
}

function elementsOf(definition: ProcessDefinitionV1, category: DiffCategory): Element[] {
  const plain = (list: readonly { id: string; name: string }[]) => list.map((item) => ({ id: item.id, name: item.name, value: item }));
  switch (category) {
    case "process":
      return [{ id: definition.id, name: definition.name, value: { id: definition.id, name: definition.name, description: definition.description } }];
    case "contexts":
      return plain(definition.contexts);
    case "actors":
      return plain(definition.actors);
    case "messages":
      return [
        ...definition.commands.map((command) => ({ id: command.id, name: command.name, kind: "command", value: { kind: "command", ...command } })),
        ...definition.events.map((event) => ({ id: event.id, name: event.name, kind: "event", value: { kind: "event", ...event } })),
      ];
    case "aggregates":
      return plain(definition.aggregates);
    case "processManagers":
      return definition.processManagers.map(({ steps: _steps, ...manager }) => ({ id: manager.id, name: manager.name, value: manager }));
    case "steps":
      return plain(definition.processManagers.flatMap((manager) => manager.steps));
    case "views":
      return plain(definition.readModels);
    case "timers":
      return plain(definition.timers);
    case "bindings":
      return plain(definition.externalSystems);
    default: {
      const unreachable: never = category;
      return unreachable;
    }
  }
}

export const diffCategories: DiffCategory[] = ["process", "contexts", "actors", "messages", "aggregates", "processManagers", "steps", "views", "timers", "bindings"];

export function diffDefinitions(before: ProcessDefinitionV1, after: ProcessDefinitionV1): DefinitionDiff {
  const changes: ElementChange[] = [];
  for (const category of diffCategories) {
    const old = new Map(elementsOf(before, category).map((element) => [element.id, element]));
    const current = new Map(elementsOf(after, category).map((element) => [element.id, element]));
    const ids = [...new Set([...old.keys(), ...current.keys()])].sort(compareText);
    for (const id of ids) {
      const was = old.get(id);
      const is = current.get(id);
      const kind = (is ?? was)?.kind;
      const base = { category, id, name: (is ?? was)?.name ?? id, ...(kind ? { kind } : {}) };
      if (!was) changes.push({ ...base, change: "added", fields: [] });
      else if (!is) changes.push({ ...base, change: "removed", fields: [] });
      else {
        const fields: FieldChange[] = [];
        diffValue(was.value, is.value, "", fields);
        if (fields.length > 0) changes.push({ ...base, change: "changed", fields });
      }
    }
  }
  const count = (change: ElementChange["change"]) => changes.filter((item) => item.change === change).length;
  return { changes, counts: { added: count("added"), removed: count("removed"), changed: count("changed") } };
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);

function refId(value: unknown): string | undefined {
  return isRecord(value) && typeof value.id === "string" ? value.id : undefined;
}

/** How an element of a list is recognised across versions, if it can be. */
function identity(item: unknown): string | undefined {
  if (!isRecord(item)) return undefined;
  if (typeof item.id === "string") return item.id;
  const timer = refId(item.timer);
  const event = refId(item.event);
  if (event) return timer ? `${timer}/${event}` : event;
  const command = refId(item.command);
  if (command) return command;
  const source = refId(item.source);
  if (source && typeof item.message === "string") return `${source}→${item.message}`;
  const target = refId(item.target);
  if (target && typeof item.message === "string") return `${item.message}→${target}`;
  if (typeof item.name === "string") return item.name;
  return undefined;
}

const join = (path: string, key: string) => (path ? `${path}.${key}` : key);

function diffValue(before: unknown, after: unknown, path: string, out: FieldChange[]): void {
  if (JSON.stringify(before) === JSON.stringify(after)) return;
  if (isRecord(before) && isRecord(after)) {
    const keys = [...Object.keys(after), ...Object.keys(before).filter((key) => !(key in after))];
    for (const key of keys) {
      if (!(key in before)) out.push({ path: join(path, key), after: after[key] });
      else if (!(key in after)) out.push({ path: join(path, key), before: before[key] });
      else diffValue(before[key], after[key], join(path, key), out);
    }
    return;
  }
  if (Array.isArray(before) && Array.isArray(after)) {
    const keys = [...before, ...after].map(identity);
    const keyed = keys.every((key) => key !== undefined) && new Set(before.map(identity)).size === before.length && new Set(after.map(identity)).size === after.length;
    if (keyed) {
      const old = new Map(before.map((item) => [identity(item) as string, item]));
      const current = new Map(after.map((item) => [identity(item) as string, item]));
      for (const [key, item] of current) {
        if (!old.has(key)) out.push({ path: `${path}[${key}]`, after: item });
        else diffValue(old.get(key), item, `${path}[${key}]`, out);
      }
      for (const [key, item] of old) if (!current.has(key)) out.push({ path: `${path}[${key}]`, before: item });
      if (before.every((item) => current.has(identity(item) as string)) && after.every((item) => old.has(identity(item) as string))) {
        const order = (list: unknown[]) => list.map(identity).join("\u0000");
        if (order(before) !== order(after)) out.push({ path: `${path}[order]`, before: before.map(identity), after: after.map(identity) });
      }
      return;
    }
    const length = Math.max(before.length, after.length);
    for (let position = 0; position < length; position++) {
      if (position >= after.length) out.push({ path: `${path}[${position}]`, before: before[position] });
      else if (position >= before.length) out.push({ path: `${path}[${position}]`, after: after[position] });
      else diffValue(before[position], after[position], `${path}[${position}]`, out);
    }
    return;
  }
  out.push({ path: path || "(value)", before, after });
}

const categoryLabel: Record<DiffCategory, string> = {
  process: "process",
  contexts: "context",
  actors: "actor",
  messages: "message",
  aggregates: "aggregate",
  processManagers: "process manager",
  steps: "step",
  views: "view",
  timers: "timer",
  bindings: "binding",
};

function show(value: unknown): string {
  const text = JSON.stringify(value);
  return text.length > 80 ? `${text.slice(0, 77)}…` : text;
}

/** One line per element (+ added, - removed, ~ changed), indented lines per changed field. */
export function formatDiff(diff: DefinitionDiff): string {
  if (diff.changes.length === 0) return "No changes.\n";
  const lines: string[] = [];
  for (const change of diff.changes) {
    const sign = change.change === "added" ? "+" : change.change === "removed" ? "-" : "~";
    lines.push(`${sign} ${change.kind ?? categoryLabel[change.category]} ${change.name} (${change.id})`);
    for (const field of change.fields) {
      if (!("before" in field)) lines.push(`    + ${field.path}: ${show(field.after)}`);
      else if (!("after" in field)) lines.push(`    - ${field.path}: ${show(field.before)}`);
      else lines.push(`    ~ ${field.path}: ${show(field.before)} → ${show(field.after)}`);
    }
  }
  lines.push(`${diff.counts.added} added, ${diff.counts.removed} removed, ${diff.counts.changed} changed`);
  return `${lines.join("\n")}\n`;
}
