/**
 * A small builder that keeps hand-written template boards readable: payloads as field lists,
 * rules next to the command they decide, edges drawn from what the data says.
 */
import {
  boardDocumentSchema,
  type AggregateRule,
  type BoardDocument,
  type BoardEdge,
  type BoardNode,
  type ExternalBinding,
  type FieldType,
  type Mapping,
  type PayloadProperty,
  type PayloadSchema,
  type RetryPolicy,
} from "../board/document.ts";
import { integrityProblems } from "../board/migrations.ts";

type Scalar = "string" | "number" | "integer" | "boolean" | "date-time";
export type FieldSpec = Scalar | PayloadProperty;

function property(spec: FieldSpec): PayloadProperty {
  if (typeof spec !== "string") return spec;
  return spec === "date-time" ? { type: "string", format: "date-time" } : { type: spec };
}

/** A nested object whose fields are all required. */
export function object(fields: Record<string, FieldSpec>, description?: string): PayloadProperty {
  const properties: Record<string, PayloadProperty> = {};
  for (const [name, spec] of Object.entries(fields)) properties[name] = property(spec);
  return { type: "object", properties, required: Object.keys(fields), ...(description ? { description } : {}) };
}
export const listOf = (item: FieldSpec, description?: string): PayloadProperty => ({ type: "array", items: property(item), ...(description ? { description } : {}) });
export const oneOf = (...values: string[]): PayloadProperty => ({ type: "string", enum: values });
export const described = (spec: FieldSpec, description: string): PayloadProperty => ({ ...property(spec), description });

/** A message payload; every field is required unless listed in `optional`. */
export function payload(fields: Record<string, FieldSpec>, optional: readonly string[] = []): PayloadSchema {
  const properties: Record<string, PayloadProperty> = {};
  for (const [name, spec] of Object.entries(fields)) properties[name] = property(spec);
  return { type: "object", properties, required: Object.keys(fields).filter((name) => !optional.includes(name)) };
}

export interface StateFieldSpec {
  name: string;
  type: FieldType;
  initial?: unknown;
}

export type RuleSpec = { when?: string } & ({ emit: { event: string; mapping: Mapping }[] } | { reject: string });

export interface PolicySpec {
  description?: string;
  /** Trigger events. */
  on?: string[];
  /** Timers that fire the policy. */
  firedBy?: string[];
  issue: string;
  mapping: Mapping;
  correlationKey?: string;
  condition?: string;
  retry?: RetryPolicy;
  deadline?: { afterMs: number; onTimeout?: string };
  compensation?: string;
}

type NodeInput = BoardNode extends infer N ? (N extends BoardNode ? Omit<N, "position" | "parentId"> & { parentId?: string | null } : never) : never;

export type NodePlacement = Record<string, { x: number; y: number; width?: number; height?: number }>;

export class BoardBuilder {
  private readonly nodes: BoardNode[] = [];
  private readonly edges: BoardEdge[] = [];
  private stuckAfterMs = 300_000;

  private add(node: NodeInput): string {
    const { parentId, ...rest } = node;
    this.nodes.push({ ...rest, position: { x: 0, y: 0 }, ...(parentId ? { parentId } : {}) } as BoardNode);
    return node.id;
  }

  private connect(source: string, target: string): void {
    const id = `${source}->${target}`;
    if (!this.edges.some((edge) => edge.id === id)) this.edges.push({ id, source, target });
  }

  private aggregateData(id: string) {
    const node = this.nodes.find((candidate) => candidate.id === id);
    if (node?.type !== "aggregate") throw new Error(`${id} is not an aggregate`);
    return node.data;
  }

  context(id: string, name: string, options: { description?: string; color?: string } = {}): string {
    return this.add({ id, type: "context", data: { name, description: options.description ?? "", ...(options.color ? { color: options.color } : {}) } });
  }

  command(context: string | null, id: string, name: string, schema: PayloadSchema, description = ""): string {
    return this.add({ id, type: "command", parentId: context, data: { name, description, schema } });
  }

  event(
    context: string | null,
    id: string,
    name: string,
    schema: PayloadSchema,
    options: { description?: string; visibility?: "internal" | "public"; lifecycle?: "none" | "start" | "complete" | "fail" } = {},
  ): string {
    return this.add({
      id,
      type: "event",
      parentId: context,
      data: { name, description: options.description ?? "", schema, visibility: options.visibility ?? "internal", lifecycle: options.lifecycle ?? "none" },
    });
  }

  aggregate(
    context: string | null,
    id: string,
    name: string,
    options: { description?: string; idExpression: string; state?: StateFieldSpec[]; snapshotEvery?: number; expectedVersionField?: string },
  ): string {
    return this.add({
      id,
      type: "aggregate",
      parentId: context,
      data: {
        name,
        description: options.description ?? "",
        idExpression: options.idExpression,
        stateFields: options.state ?? [],
        rules: [],
        evolutions: [],
        snapshotEvery: options.snapshotEvery ?? 0,
        ...(options.expectedVersionField ? { expectedVersionField: options.expectedVersionField } : {}),
      },
    });
  }

  /** The aggregate handles the command with these rules, tried in order. */
  decide(aggregate: string, command: string, rules: RuleSpec[]): this {
    const data = this.aggregateData(aggregate);
    this.connect(command, aggregate);
    for (const spec of rules) {
      const rule: AggregateRule = {
        id: `${aggregate}.rule-${data.rules.length + 1}`,
        command,
        ...(spec.when ? { condition: spec.when } : {}),
        outcome: "reject" in spec ? { kind: "reject", reason: spec.reject } : { kind: "emit", events: spec.emit },
      };
      data.rules.push(rule);
      if (rule.outcome.kind === "emit") for (const emitted of rule.outcome.events) this.connect(aggregate, emitted.event);
    }
    return this;
  }

  evolve(aggregate: string, event: string, set: Mapping): this {
    this.aggregateData(aggregate).evolutions.push({ event, set });
    return this;
  }

  policy(context: string | null, id: string, name: string, spec: PolicySpec): string {
    this.add({
      id,
      type: "policy",
      parentId: context,
      data: {
        name,
        description: spec.description ?? "",
        mapping: spec.mapping,
        correlationKey: spec.correlationKey ?? "",
        ...(spec.condition ? { condition: spec.condition } : {}),
        ...(spec.retry ? { retry: spec.retry } : {}),
        ...(spec.deadline ? { deadline: spec.deadline } : {}),
        ...(spec.compensation ? { compensation: spec.compensation } : {}),
      },
    });
    for (const event of spec.on ?? []) this.connect(event, id);
    for (const timer of spec.firedBy ?? []) this.connect(timer, id);
    this.connect(id, spec.issue);
    return id;
  }

  readModel(
    context: string | null,
    id: string,
    name: string,
    spec: { description?: string; fields: StateFieldSpec[]; updates: { event: string; key: string; set: Mapping; remove?: boolean }[] },
  ): string {
    this.add({
      id,
      type: "readModel",
      parentId: context,
      data: { name, description: spec.description ?? "", fields: spec.fields, updates: spec.updates.map((update) => ({ ...update, remove: update.remove ?? false })) },
    });
    for (const update of spec.updates) this.connect(update.event, id);
    return id;
  }

  timer(context: string | null, id: string, name: string, spec: { description?: string; afterMs: number; scheduledBy: string[] }): string {
    this.add({ id, type: "timer", parentId: context, data: { name, description: spec.description ?? "", afterMs: spec.afterMs } });
    for (const event of spec.scheduledBy) this.connect(event, id);
    return id;
  }

  actor(context: string | null, id: string, name: string, invokes: string[], description = ""): string {
    this.add({ id, type: "actor", parentId: context, data: { name, description } });
    for (const command of invokes) this.connect(id, command);
    return id;
  }

  externalSystem(
    context: string | null,
    id: string,
    name: string,
    spec: {
      description?: string;
      binding: ExternalBinding;
      inbound?: { message: string; target: string; mapping: Mapping }[];
      outbound?: { source: string; message: string; mapping: Mapping }[];
    },
  ): string {
    this.add({
      id,
      type: "externalSystem",
      parentId: context,
      data: { name, description: spec.description ?? "", binding: spec.binding, inbound: spec.inbound ?? [], outbound: spec.outbound ?? [] },
    });
    for (const entry of spec.inbound ?? []) this.connect(id, entry.target);
    for (const entry of spec.outbound ?? []) this.connect(entry.source, id);
    return id;
  }

  stuckAfter(ms: number): this {
    this.stuckAfterMs = ms;
    return this;
  }

  /** The finished board, checked against the board schema; positions from `placement` when given. */
  build(placement: NodePlacement = {}): BoardDocument {
    const nodes = this.nodes.map((node) => {
      const place = placement[node.id];
      if (!place) return node;
      return { ...node, position: { x: place.x, y: place.y }, ...(place.width ? { width: place.width } : {}), ...(place.height ? { height: place.height } : {}) };
    });
    const board = boardDocumentSchema.parse({ schemaVersion: 1, nodes, edges: this.edges, process: { stuckAfterMs: this.stuckAfterMs } });
    const problems = integrityProblems(board);
    if (problems.length > 0) throw new Error(`template board is broken: ${problems.join("; ")}`);
    return board;
  }
}
