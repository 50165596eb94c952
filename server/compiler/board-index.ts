/**
 * The board read once into lookup tables: nodes by id and kind, and every relation between nodes,
 * whether drawn as an edge or written in a node's data (a rule naming the event it emits). Where
 * the two disagree a diagnostic says so; the relation then holds the union.
 */
import { connectionVerdict, kindLabel, type EdgeMeaning } from "../board/connections.ts";
import type { BoardDocument, BoardNode, BoardNodeOf, NodeKind } from "../board/document.ts";
import { compareText, diagnostic, type Diagnostic } from "./diagnostics.ts";

export type NodesByKind = { [K in NodeKind]: BoardNodeOf<K>[] };

/** A directed relation kept in both directions. */
export class Relation {
  private readonly forward = new Map<string, string[]>();
  private readonly backward = new Map<string, string[]>();

  add(from: string, to: string): void {
    const targets = this.forward.get(from);
    if (targets?.includes(to)) return;
    if (targets) targets.push(to);
    else this.forward.set(from, [to]);
    const sources = this.backward.get(to);
    if (sources) sources.push(from);
    else this.backward.set(to, [from]);
  }
  from(id: string): readonly string[] {
    return this.forward.get(id) ?? [];
  }
  to(id: string): readonly string[] {
    return this.backward.get(id) ?? [];
  }
  has(from: string, to: string): boolean {
    return this.forward.get(from)?.includes(to) ?? false;
  }
}

export const byNameThenId = (a: { id: string; data: { name: string } }, b: { id: string; data: { name: string } }) =>
  compareText(a.data.name, b.data.name) || compareText(a.id, b.id);

export class BoardIndex {
  readonly byId = new Map<string, BoardNode>();
  readonly nodes: NodesByKind = {
    context: [],
    command: [],
    event: [],
    aggregate: [],
    policy: [],
    readModel: [],
    externalSystem: [],
    timer: [],
    actor: [],
  };
  readonly diagnostics: Diagnostic[] = [];
  /** `${meaning} ${source} ${target}` → id of the edge drawn for it. */
  private readonly edgeIds = new Map<string, string>();

  /** command → aggregate */
  readonly handles = new Relation();
  /** aggregate → event */
  readonly emits = new Relation();
  /** event → policy */
  readonly triggers = new Relation();
  /** policy → command */
  readonly issues = new Relation();
  /** event → read model */
  readonly projects = new Relation();
  /** event → timer */
  readonly schedules = new Relation();
  /** timer → policy */
  readonly fires = new Relation();
  /** actor → command */
  readonly invokes = new Relation();
  /** command or event → external system */
  readonly delivers = new Relation();
  /** external system → command or event */
  readonly receives = new Relation();

  constructor(readonly board: BoardDocument) {
    for (const node of board.nodes) {
      this.byId.set(node.id, node);
      (this.nodes[node.type] as BoardNode[]).push(node);
    }
    for (const kind of Object.keys(this.nodes) as NodeKind[]) (this.nodes[kind] as BoardNode[]).sort(byNameThenId);
    this.readEdges();
    this.readData();
  }

  node<K extends NodeKind>(id: string | undefined, kind: K): BoardNodeOf<K> | undefined {
    if (id === undefined) return undefined;
    const node = this.byId.get(id);
    return node?.type === kind ? (node as BoardNodeOf<K>) : undefined;
  }

  /** The message node (command or event) with this id. */
  message(id: string): BoardNodeOf<"command"> | BoardNodeOf<"event"> | undefined {
    const node = this.byId.get(id);
    return node?.type === "command" || node?.type === "event" ? node : undefined;
  }

  /** The context a node is drawn in. */
  ownContext(node: BoardNode): BoardNodeOf<"context"> | undefined {
    return this.node(node.parentId, "context");
  }

  edgeId(meaning: EdgeMeaning, source: string, target: string): string | undefined {
    return this.edgeIds.get(`${meaning} ${source} ${target}`);
  }

  private relationFor(meaning: EdgeMeaning): Relation {
    switch (meaning) {
      case "handles":
        return this.handles;
      case "emits":
        return this.emits;
      case "triggers":
        return this.triggers;
      case "issues":
        return this.issues;
      case "projects":
        return this.projects;
      case "schedules":
        return this.schedules;
      case "fires":
        return this.fires;
      case "invokes":
        return this.invokes;
      case "delivers":
        return this.delivers;
      case "receives":
        return this.receives;
      default: {
        const unreachable: never = meaning;
        return unreachable;
      }
    }
  }

  private readEdges(): void {
    for (const edge of this.board.edges) {
      const source = this.byId.get(edge.source);
      const target = this.byId.get(edge.target);
      if (!source || !target) continue;
      const verdict = connectionVerdict(source.type, target.type);
      if (!verdict.ok) {
        this.diagnostics.push(
          diagnostic(
            "SB001",
            { edgeId: edge.id },
            `"${source.data.name}" (${kindLabel[source.type]}) cannot connect to "${target.data.name}" (${kindLabel[target.type]}): ${verdict.reason}.`,
            "Delete the edge or connect the nodes through the elements the reason names.",
          ),
        );
        continue;
      }
      const key = `${verdict.meaning} ${source.id} ${target.id}`;
      // Duplicate edges between the same nodes: diagnostics name the smallest id, whatever the order.
      const known = this.edgeIds.get(key);
      if (known === undefined || edge.id < known) this.edgeIds.set(key, edge.id);
      this.relationFor(verdict.meaning).add(source.id, target.id);
    }
  }

  private unknownReference(nodeId: string, field: string, id: string, expected: string): void {
    const found = this.byId.get(id);
    this.diagnostics.push(
      diagnostic(
        "SB004",
        { nodeId, field },
        found ? `${field} refers to "${found.data.name}", a ${kindLabel[found.type]}, where ${expected} is expected.` : `${field} refers to "${id}", which is not on the board.`,
        `Choose ${expected} that is on the board.`,
      ),
    );
  }

  private mismatch(subject: { nodeId?: string; edgeId?: string; field?: string }, message: string, hint: string): void {
    this.diagnostics.push(diagnostic("SB005", subject, message, hint));
  }

  private readData(): void {
    for (const aggregate of this.nodes.aggregate) this.readAggregate(aggregate);
    for (const readModel of this.nodes.readModel) this.readReadModel(readModel);
    for (const system of this.nodes.externalSystem) this.readExternalSystem(system);
    for (const policy of this.nodes.policy) {
      const { deadline, compensation } = policy.data;
      if (deadline?.onTimeout !== undefined && !this.node(deadline.onTimeout, "command")) {
        this.unknownReference(policy.id, "deadline.onTimeout", deadline.onTimeout, "a command");
      }
      if (compensation !== undefined && !this.node(compensation, "command")) this.unknownReference(policy.id, "compensation", compensation, "a command");
    }
  }

  private readAggregate(aggregate: BoardNodeOf<"aggregate">): void {
    const name = aggregate.data.name;
    const emittedByRules = new Set<string>();
    aggregate.data.rules.forEach((rule, ruleIndex) => {
      const command = this.node(rule.command, "command");
      if (!command) this.unknownReference(aggregate.id, `rules[${ruleIndex}].command`, rule.command, "a command");
      else if (!this.handles.has(command.id, aggregate.id)) {
        this.mismatch(
          { nodeId: aggregate.id, field: `rules[${ruleIndex}].command` },
          `A rule of ${name} decides ${command.data.name}, but no edge connects ${command.data.name} to ${name}.`,
          `Connect ${command.data.name} to ${name}.`,
        );
      }
      if (command) this.handles.add(command.id, aggregate.id);
      if (rule.outcome.kind !== "emit") return;
      rule.outcome.events.forEach((emitted, eventIndex) => {
        const event = this.node(emitted.event, "event");
        const field = `rules[${ruleIndex}].outcome.events[${eventIndex}].event`;
        if (!event) return this.unknownReference(aggregate.id, field, emitted.event, "an event");
        emittedByRules.add(event.id);
        if (!this.emits.has(aggregate.id, event.id)) {
          this.mismatch({ nodeId: aggregate.id, field }, `A rule of ${name} emits ${event.data.name}, but no edge connects ${name} to it.`, `Connect ${name} to ${event.data.name}.`);
        }
      });
    });
    for (const eventId of this.emits.from(aggregate.id)) {
      if (emittedByRules.has(eventId)) continue;
      const event = this.byId.get(eventId);
      this.mismatch(
        { edgeId: this.edgeId("emits", aggregate.id, eventId) ?? aggregate.id },
        `${name} is connected to ${event?.data.name ?? eventId}, but none of its rules emits it.`,
        `Add a rule to ${name} that emits ${event?.data.name ?? eventId}, or delete the edge.`,
      );
    }
    for (const eventId of emittedByRules) this.emits.add(aggregate.id, eventId);
    aggregate.data.evolutions.forEach((evolution, index) => {
      if (!this.node(evolution.event, "event")) this.unknownReference(aggregate.id, `evolutions[${index}].event`, evolution.event, "an event");
    });
  }

  private readReadModel(readModel: BoardNodeOf<"readModel">): void {
    const name = readModel.data.name;
    const updated = new Set<string>();
    readModel.data.updates.forEach((update, index) => {
      const event = this.node(update.event, "event");
      if (!event) return this.unknownReference(readModel.id, `updates[${index}].event`, update.event, "an event");
      updated.add(event.id);
      if (!this.projects.has(event.id, readModel.id)) {
        this.mismatch(
          { nodeId: readModel.id, field: `updates[${index}].event` },
          `${name} is updated by ${event.data.name}, but no edge connects ${event.data.name} to it.`,
          `Connect ${event.data.name} to ${name}.`,
        );
      }
    });
    for (const eventId of this.projects.to(readModel.id)) {
      if (updated.has(eventId)) continue;
      const event = this.byId.get(eventId);
      this.mismatch(
        { edgeId: this.edgeId("projects", eventId, readModel.id) ?? readModel.id },
        `${event?.data.name ?? eventId} is connected to ${name}, but ${name} has no update for it.`,
        `Say how ${event?.data.name ?? eventId} changes ${name}, or delete the edge.`,
      );
    }
    for (const eventId of updated) this.projects.add(eventId, readModel.id);
  }

  private readExternalSystem(system: BoardNodeOf<"externalSystem">): void {
    const name = system.data.name;
    system.data.inbound.forEach((entry, index) => {
      const target = this.message(entry.target);
      if (!target) return this.unknownReference(system.id, `inbound[${index}].target`, entry.target, "a command or an event");
      if (!this.receives.has(system.id, target.id)) {
        this.mismatch(
          { nodeId: system.id, field: `inbound[${index}].target` },
          `${name} turns "${entry.message}" into ${target.data.name}, but no edge connects ${name} to it.`,
          `Connect ${name} to ${target.data.name}.`,
        );
      }
      this.receives.add(system.id, target.id);
    });
    system.data.outbound.forEach((entry, index) => {
      const source = this.message(entry.source);
      if (!source) return this.unknownReference(system.id, `outbound[${index}].source`, entry.source, "a command or an event");
      if (!this.delivers.has(source.id, system.id)) {
        this.mismatch(
          { nodeId: system.id, field: `outbound[${index}].source` },
          `${name} publishes ${source.data.name} as "${entry.message}", but no edge connects ${source.data.name} to ${name}.`,
          `Connect ${source.data.name} to ${name}.`,
        );
      }
      this.delivers.add(source.id, system.id);
    });
  }
}
