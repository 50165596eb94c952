/**
 * Board → process definition v1. Checks everything it can about the board first (see
 * diagnostics.ts for the codes); a definition comes out only when no check found an error.
 */
import { kindLabel } from "../board/connections.ts";
import { retryPolicySchema, type BoardDocument, type BoardNodeOf, type PayloadProperty, type PayloadSchema } from "../board/document.ts";
import { shapeOfFields } from "../definition/expression-analysis.ts";
import type { CompiledExpression } from "../definition/expressions.ts";
import {
  DEFINITION_FORMAT_VERSION,
  EXPRESSION_LANGUAGE,
  type AggregateDefinition,
  type BindingDefinition,
  type CommandDefinition,
  type Dispatch,
  type ElementRef,
  type EventDefinition,
  type Expression,
  type ExpressionInput,
  type ExternalSystemDefinition,
  type Mapping,
  type PayloadPropertyV1,
  type PayloadSchemaV1,
  type ProcessDefinitionV1,
  type ProcessManagerDefinition,
  type ReadModelDefinition,
  type StepDefinition,
  type StepTrigger,
  type TimerDefinition,
} from "../definition/v1.ts";
import { BoardIndex, byNameThenId } from "./board-index.ts";
import { compareDiagnostics, compareText, diagnostic, hasErrors, type Diagnostic } from "./diagnostics.ts";
import { ExpressionChecker, type InputVariant } from "./expression-checks.ts";
import { analyseProcess, eventsDecidedFor } from "./process-graph.ts";

export interface ProcessMeta {
  id: string;
  name: string;
  description?: string;
}

export interface CompileResult {
  /** Present only when no diagnostic is an error. */
  definition?: ProcessDefinitionV1;
  /** Sorted: errors first, then by code and element. */
  diagnostics: Diagnostic[];
}

type CommandNode = BoardNodeOf<"command">;
type EventNode = BoardNodeOf<"event">;
type MessageNode = CommandNode | EventNode;
type ContextNode = BoardNodeOf<"context">;

export function compileBoard(board: BoardDocument, meta: ProcessMeta): CompileResult {
  if (!meta.id.trim() || !meta.name.trim()) throw new Error("compileBoard needs a process id and name");
  const compilation = new Compilation(board, meta);
  compilation.check();
  const diagnostics = compilation.diagnostics.sort(compareDiagnostics);
  if (hasErrors(diagnostics)) return { diagnostics };
  return { definition: compilation.build(), diagnostics };
}

const ref = (node: { id: string; data: { name: string } }): ElementRef => ({ id: node.id, name: node.data.name });
const refOrNull = (node: { id: string; data: { name: string } } | undefined): ElementRef | null => (node ? ref(node) : null);
const expression = (input: ExpressionInput, source: string): Expression => ({ input, source: source.trim() });

function mapping(input: ExpressionInput, fields: Readonly<Record<string, string>>): Mapping {
  return { input, fields: Object.fromEntries(sortedKeys(fields).map((key) => [key, (fields[key] as string).trim()])) };
}

function optionalExpression(input: ExpressionInput, source: string | undefined): Expression | null {
  return source?.trim() ? expression(input, source) : null;
}

/** Keys in a stable order. Objects are built with fromEntries, which defines a "__proto__" key instead of setting the prototype. */
const sortedKeys = (value: object): string[] => Object.keys(value).sort(compareText);

/** Sorts object keys recursively so free-form values (initial state) serialise the same way. */
function canonicalValue(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonicalValue);
  if (value === null || typeof value !== "object") return value === undefined ? null : value;
  return Object.fromEntries(sortedKeys(value).map((key) => [key, canonicalValue((value as Record<string, unknown>)[key])]));
}

function canonicalProperty(property: PayloadProperty): PayloadPropertyV1 {
  return {
    type: property.type,
    ...(property.format ? { format: property.format } : {}),
    ...(property.enum ? { enum: [...property.enum] } : {}),
    ...(property.description !== undefined ? { description: property.description } : {}),
    ...(property.properties ? { properties: canonicalProperties(property.properties) } : {}),
    ...(property.required ? { required: [...property.required].sort(compareText) } : {}),
    ...(property.items ? { items: canonicalProperty(property.items) } : {}),
  };
}

function canonicalProperties(properties: Readonly<Record<string, PayloadProperty>>): Record<string, PayloadPropertyV1> {
  return Object.fromEntries(sortedKeys(properties).map((key) => [key, canonicalProperty(properties[key] as PayloadProperty)]));
}

function canonicalSchema(schema: PayloadSchema): PayloadSchemaV1 {
  return { type: "object", properties: canonicalProperties(schema.properties), required: [...schema.required].sort(compareText) };
}

const sortRefs = (nodes: readonly { id: string; data: { name: string } }[]): ElementRef[] => [...nodes].sort(byNameThenId).map(ref);

class Compilation {
  readonly index: BoardIndex;
  readonly diagnostics: Diagnostic[];
  private readonly checker: ExpressionChecker;
  /** Parsed correlation keys the policies declare, by policy id. */
  private readonly declaredKeys = new Map<string, CompiledExpression>();

  constructor(
    board: BoardDocument,
    private readonly meta: ProcessMeta,
  ) {
    this.index = new BoardIndex(board);
    this.diagnostics = this.index.diagnostics;
    this.checker = new ExpressionChecker(this.index, this.diagnostics);
  }

  // ——— relations ———

  private nodesOf<K extends "command" | "event" | "aggregate" | "policy" | "readModel" | "timer" | "externalSystem" | "actor">(ids: readonly string[], kind: K) {
    return ids.map((id) => this.index.node(id, kind)).filter((node): node is BoardNodeOf<K> => node !== undefined);
  }
  private handlersOf(command: CommandNode) {
    return this.nodesOf(this.index.handles.from(command.id), "aggregate").sort(byNameThenId);
  }
  private commandsHandledBy(aggregate: BoardNodeOf<"aggregate">) {
    return this.nodesOf(this.index.handles.to(aggregate.id), "command").sort(byNameThenId);
  }
  private producersOf(event: EventNode) {
    return this.nodesOf(this.index.emits.to(event.id), "aggregate").sort(byNameThenId);
  }
  private triggerEventsOf(policy: BoardNodeOf<"policy">) {
    return this.nodesOf(this.index.triggers.to(policy.id), "event").sort(byNameThenId);
  }
  private timersOf(policy: BoardNodeOf<"policy">) {
    return this.nodesOf(this.index.fires.to(policy.id), "timer").sort(byNameThenId);
  }
  private schedulingEventsOf(timer: BoardNodeOf<"timer">) {
    return this.nodesOf(this.index.schedules.to(timer.id), "event").sort(byNameThenId);
  }
  /** Every event a policy can run with: its triggers and the events that schedule its timers. */
  private stepEventsOf(policy: BoardNodeOf<"policy">): EventNode[] {
    const events = new Map<string, EventNode>();
    for (const event of this.triggerEventsOf(policy)) events.set(event.id, event);
    for (const timer of this.timersOf(policy)) for (const event of this.schedulingEventsOf(timer)) events.set(event.id, event);
    return [...events.values()].sort(byNameThenId);
  }
  private externalHandlersOf(message: MessageNode) {
    return this.nodesOf(this.index.delivers.from(message.id), "externalSystem").sort(byNameThenId);
  }

  /** A command belongs to the context of the aggregate that handles it. */
  private commandContext(command: CommandNode): ContextNode | undefined {
    const handler = this.handlersOf(command)[0];
    return (handler && this.index.ownContext(handler)) ?? this.index.ownContext(command);
  }
  /** An event belongs to the context it is drawn in, else to that of the aggregates emitting it. */
  private eventContext(event: EventNode): ContextNode | undefined {
    const own = this.index.ownContext(event);
    if (own) return own;
    const contexts = new Set(this.producersOf(event).map((aggregate) => this.index.ownContext(aggregate)));
    return contexts.size === 1 ? [...contexts][0] : undefined;
  }

  // ——— checks ———

  check(): void {
    this.checkNames();
    this.checkCommands();
    this.checkEvents();
    for (const aggregate of this.index.nodes.aggregate) this.checkAggregate(aggregate);
    for (const policy of this.index.nodes.policy) this.checkPolicy(policy);
    for (const readModel of this.index.nodes.readModel) this.checkReadModel(readModel);
    for (const timer of this.index.nodes.timer) this.checkTimer(timer);
    for (const system of this.index.nodes.externalSystem) this.checkExternalSystem(system);
    analyseProcess(this.index, this.diagnostics);
  }

  private report(...args: Parameters<typeof diagnostic>): void {
    this.diagnostics.push(diagnostic(...args));
  }

  private checkNames(): void {
    const messages = new Map<string, MessageNode[]>();
    for (const message of [...this.index.nodes.command, ...this.index.nodes.event]) {
      const same = messages.get(message.data.name);
      if (same) same.push(message);
      else messages.set(message.data.name, [message]);
    }
    for (const [name, same] of messages) {
      if (same.length < 2) continue;
      for (const message of same) {
        this.report(
          "SB002",
          { nodeId: message.id, field: "name" },
          `${same.length} messages are named ${name} (${same.map((other) => kindLabel[other.type]).join(", ")}).`,
          "Give each command and event its own name; events are past-tense facts, commands imperatives.",
        );
      }
    }
    for (const kind of ["context", "aggregate", "policy", "readModel", "timer", "actor", "externalSystem"] as const) {
      const byName = new Map<string, number>();
      for (const node of this.index.nodes[kind]) byName.set(node.data.name, (byName.get(node.data.name) ?? 0) + 1);
      for (const node of this.index.nodes[kind]) {
        const count = byName.get(node.data.name) ?? 0;
        if (count < 2) continue;
        this.report("SB003", { nodeId: node.id, field: "name" }, `${count} ${kindLabel[kind]}s are named ${node.data.name}.`, "Rename one so they can be told apart.");
      }
    }
  }

  private outsideContext(node: { id: string; type: keyof typeof kindLabel; data: { name: string } }): void {
    this.report("SB080", { nodeId: node.id }, `${kindLabel[node.type]} ${node.data.name} is not inside any context.`, "Drag it into the bounded context that owns it.");
  }

  private checkCommands(): void {
    for (const command of this.index.nodes.command) {
      const handlers = this.handlersOf(command);
      const external = this.externalHandlersOf(command);
      const name = command.data.name;
      if (handlers.length === 0 && external.length === 0) {
        this.report("SB010", { nodeId: command.id }, `Nothing handles ${name}.`, `Connect ${name} to the aggregate that decides it (or to an external system that receives it).`);
      }
      if (handlers.length > 1) {
        this.report(
          "SB011",
          { nodeId: command.id },
          `${name} is handled by ${handlers.map((handler) => handler.data.name).join(" and ")}.`,
          "Keep one handler; let the other react to an event instead.",
        );
      }
      const handler = handlers[0];
      const own = this.index.ownContext(command);
      const handlerContext = handler && this.index.ownContext(handler);
      if (own && handlerContext && own.id !== handlerContext.id) {
        this.report(
          "SB022",
          { nodeId: command.id },
          `${name} is drawn in ${own.data.name} but handled by ${handler.data.name} in ${handlerContext.data.name}.`,
          `Move ${name} into ${handlerContext.data.name}: a command belongs to the context that handles it.`,
        );
      }
      if (!this.commandContext(command) && external.length === 0) this.outsideContext(command);
    }
  }

  private checkEvents(): void {
    for (const event of this.index.nodes.event) {
      const name = event.data.name;
      const producers = this.producersOf(event);
      if (producers.length === 0 && this.index.receives.to(event.id).length === 0) {
        this.report("SB020", { nodeId: event.id }, `Nothing emits ${name}, so it never happens.`, `Connect the aggregate that records ${name} to it, or an external system that delivers it.`);
      }
      const own = this.index.ownContext(event);
      if (own) {
        for (const producer of producers) {
          const producerContext = this.index.ownContext(producer);
          if (!producerContext || producerContext.id === own.id) continue;
          const edgeId = this.index.edgeId("emits", producer.id, event.id);
          this.report(
            "SB021",
            edgeId ? { edgeId } : { nodeId: producer.id },
            `${producer.data.name} (${producerContext.data.name}) emits ${name}, which belongs to ${own.data.name}.`,
            `Only ${own.data.name} may record ${name}. Let ${producer.data.name} emit its own event and have a policy in ${own.data.name} react to it.`,
          );
        }
      } else {
        const contexts = [...new Set(producers.map((producer) => this.index.ownContext(producer)).filter((context) => context !== undefined))];
        if (contexts.length > 1) {
          this.report(
            "SB021",
            { nodeId: event.id },
            `${name} is emitted from several contexts (${contexts.map((context) => context.data.name).join(", ")}).`,
            `Draw ${name} inside the one context that owns it; the others emit events of their own.`,
          );
        }
      }
      if (!this.eventContext(event) && producers.length > 0) this.outsideContext(event);
      if (event.data.visibility === "internal") this.checkInternalEvent(event);
    }
  }

  private checkInternalEvent(event: EventNode): void {
    const owner = this.eventContext(event);
    if (!owner) return;
    const outsiders: string[] = [];
    const consumers = [
      ...this.nodesOf(this.index.triggers.from(event.id), "policy"),
      ...this.nodesOf(this.index.projects.from(event.id), "readModel"),
      ...this.nodesOf(this.index.schedules.from(event.id), "timer"),
    ].sort(byNameThenId);
    for (const consumer of consumers) {
      const context = this.index.ownContext(consumer);
      if (context && context.id !== owner.id) outsiders.push(`${consumer.data.name} in ${context.data.name}`);
    }
    for (const system of this.externalHandlersOf(event)) outsiders.push(`the external system ${system.data.name}`);
    if (outsiders.length === 0) return;
    this.report(
      "SB081",
      { nodeId: event.id, field: "visibility" },
      `${event.data.name} is internal to ${owner.data.name} but used by ${outsiders.join(", ")}.`,
      `Mark ${event.data.name} public (part of ${owner.data.name}'s published language), or publish a separate public event.`,
    );
  }

  private checkAggregate(aggregate: BoardNodeOf<"aggregate">): void {
    const { name, rules, evolutions, expectedVersionField, idExpression, stateFields } = aggregate.data;
    if (!this.index.ownContext(aggregate)) this.outsideContext(aggregate);
    const handled = this.commandsHandledBy(aggregate);
    const emitted = new Set(this.index.emits.from(aggregate.id));
    const state = shapeOfFields(stateFields, `the state of ${name}`);
    const meta = this.checker.metaShape;

    for (const command of handled) {
      const own = rules.map((rule, position) => ({ rule, position })).filter(({ rule }) => rule.command === command.id);
      if (own.length === 0) {
        this.report("SB012", { nodeId: aggregate.id, field: "rules" }, `${name} handles ${command.data.name} but has no rule for it.`, `Add a rule: which events ${command.data.name} produces, or why it is rejected.`);
      }
      const unconditional = own.findIndex(({ rule }) => !rule.condition?.trim());
      for (const { position } of unconditional < 0 ? [] : own.slice(unconditional + 1)) {
        this.report(
          "SB013",
          { nodeId: aggregate.id, field: `rules[${position}]` },
          `This rule for ${command.data.name} is never tried: an earlier rule has no condition and always applies.`,
          "Give the earlier rule a condition or move this rule before it.",
        );
      }
    }

    this.checker.check(
      { nodeId: aggregate.id, field: "idExpression", input: "aggregateId", variants: this.checker.variantsForMessages(handled, "command", { meta }) },
      idExpression,
      { required: true, what: `The id expression of ${name}` },
    );

    rules.forEach((rule, position) => {
      const command = this.index.node(rule.command, "command");
      const variants: InputVariant[] = this.checker.variantsForMessages(command ? [command] : [], "command", { state, meta });
      const site = (field: string) => ({ nodeId: aggregate.id, field: `rules[${position}].${field}`, input: "decision" as const, variants });
      this.checker.check(site("condition"), rule.condition, { required: false });
      if (rule.outcome.kind === "reject") return;
      rule.outcome.events.forEach((emittedEvent, eventPosition) => {
        const event = this.index.node(emittedEvent.event, "event");
        if (!event) return;
        this.checker.checkMapping(site(`outcome.events[${eventPosition}].mapping`), emittedEvent.mapping, {
          shape: this.checker.payloadShape(event),
          label: event.data.name,
          required: event.data.schema.required,
        });
      });
    });

    evolutions.forEach((evolution, position) => {
      const event = this.index.node(evolution.event, "event");
      if (!event) return;
      if (!emitted.has(event.id)) {
        this.report(
          "SB015",
          { nodeId: aggregate.id, field: `evolutions[${position}].event` },
          `${name} changes its state on ${event.data.name}, which it never emits; its stream never holds that event.`,
          `Remove this evolution, or react to ${event.data.name} with a policy that sends ${name} a command.`,
        );
      }
      this.checker.checkMapping(
        { nodeId: aggregate.id, field: `evolutions[${position}].set`, input: "evolution", variants: this.checker.variantsForMessages([event], "event", { state }) },
        evolution.set,
        { shape: state, label: `the state of ${name}`, required: null },
      );
    });

    if (expectedVersionField) {
      const carriers = handled.filter((command) => command.data.schema.properties[expectedVersionField] !== undefined);
      if (carriers.length === 0) {
        this.report(
          "SB017",
          { nodeId: aggregate.id, field: "expectedVersionField" },
          `${name} checks the expected version in "${expectedVersionField}", but none of its commands has that field.`,
          `Add an integer field "${expectedVersionField}" to the commands that update ${name}, or clear the setting.`,
        );
      }
      for (const command of carriers) {
        const type = command.data.schema.properties[expectedVersionField]?.type;
        if (type === "integer") continue;
        this.report(
          "SB016",
          { nodeId: command.id, field: `schema.properties.${expectedVersionField}` },
          `${command.data.name}.${expectedVersionField} carries the version ${name} expects, but it is a ${type}.`,
          "Make it an integer: versions count events.",
        );
      }
    }
  }

  private checkPolicy(policy: BoardNodeOf<"policy">): void {
    const { name, condition, correlationKey, deadline, compensation } = policy.data;
    if (!this.index.ownContext(policy)) this.outsideContext(policy);
    const triggers = this.triggerEventsOf(policy);
    const timers = this.timersOf(policy);
    if (triggers.length === 0 && timers.length === 0) {
      this.report("SB030", { nodeId: policy.id }, `No event or timer triggers ${name}.`, `Connect the event ${name} reacts to.`);
    }
    const commands = this.nodesOf(this.index.issues.from(policy.id), "command").sort(byNameThenId);
    if (commands.length === 0) this.report("SB031", { nodeId: policy.id }, `${name} issues no command.`, `Connect ${name} to the command it sends.`);
    if (commands.length > 1) {
      this.report(
        "SB032",
        { nodeId: policy.id },
        `${name} issues ${commands.map((command) => command.data.name).join(", ")}; a policy sends one command.`,
        "Split it into one policy per command.",
      );
    }
    const events = this.stepEventsOf(policy);
    const variants = this.checker.variantsForMessages(events, "event", { meta: this.checker.metaShape, process: this.checker.processShape });
    const site = (field: string) => ({ nodeId: policy.id, field, input: "policy" as const, variants });
    this.checker.check(site("condition"), condition, { required: false });
    const key = this.checker.check(site("correlationKey"), correlationKey, { required: false, missingFieldCode: "SB033" });
    if (key) this.declaredKeys.set(policy.id, key);
    const command = commands.length === 1 ? commands[0] : undefined;
    this.checker.checkMapping(
      site("mapping"),
      policy.data.mapping,
      command
        ? { shape: this.checker.payloadShape(command), label: command.data.name, required: command.data.schema.required }
        : { shape: ExpressionChecker.anything, label: "the command", required: null },
    );
    const derived: [string, string | undefined][] = [
      ["deadline.onTimeout", deadline?.onTimeout],
      ["compensation", compensation],
    ];
    for (const [field, commandId] of derived) {
      const target = this.index.node(commandId, "command");
      if (!target || events.length === 0) continue;
      const filled = this.derivedFields(target, events);
      const missing = target.data.schema.required.filter((required) => filled[required] === undefined);
      if (missing.length === 0) continue;
      this.report(
        "SB083",
        { nodeId: policy.id, field },
        `${target.data.name} requires ${missing.map((item) => `"${item}"`).join(", ")}, which ${events.map((event) => event.data.name).join(" and ")} do not carry.`,
        `${target.data.name} is filled from same-named fields of the triggering event: add them to the event or make them optional.`,
      );
    }
  }

  private checkReadModel(readModel: BoardNodeOf<"readModel">): void {
    const { name, fields, updates } = readModel.data;
    if (!this.index.ownContext(readModel)) this.outsideContext(readModel);
    if (updates.length === 0) this.report("SB084", { nodeId: readModel.id }, `${name} is never updated.`, `Connect the events that change ${name} and say how.`);
    const view = shapeOfFields(fields, name);
    updates.forEach((update, position) => {
      const event = this.index.node(update.event, "event");
      if (!event) return;
      const variants = this.checker.variantsForMessages([event], "event", { view, meta: this.checker.metaShape });
      this.checker.check({ nodeId: readModel.id, field: `updates[${position}].key`, input: "projection", variants }, update.key, {
        required: true,
        what: `The key of ${name} for ${event.data.name}`,
      });
      this.checker.checkMapping({ nodeId: readModel.id, field: `updates[${position}].set`, input: "projection", variants }, update.set, { shape: view, label: name, required: null });
    });
  }

  private checkTimer(timer: BoardNodeOf<"timer">): void {
    const scheduled = this.index.schedules.to(timer.id).length > 0;
    const fires = this.index.fires.from(timer.id).length > 0;
    if (scheduled && fires) return;
    const missing = [scheduled ? undefined : "no event schedules it", fires ? undefined : "it fires no policy"].filter(Boolean).join(" and ");
    this.report("SB082", { nodeId: timer.id }, `Timer ${timer.data.name}: ${missing}.`, "Connect the event that starts the timer and the policy it fires.");
  }

  private checkExternalSystem(system: BoardNodeOf<"externalSystem">): void {
    const { name, binding, inbound, outbound } = system.data;
    const connected = this.index.receives.from(system.id).length > 0 || this.index.delivers.to(system.id).length > 0;
    const address = bindingAddress(binding);
    if (!connected) {
      this.report("SB071", { nodeId: system.id }, `${name} receives and delivers nothing.`, `Connect the events ${name} publishes and the commands or events it feeds in.`);
    }
    if (binding.kind === "none" ? connected : !address) {
      this.report(
        "SB070",
        { nodeId: system.id, field: "binding" },
        binding.kind === "none" ? `${name} exchanges messages but is bound to nothing.` : `${name}'s ${binding.kind} binding has no ${addressName[binding.kind]}.`,
        "Give it a webhook URL, a Redis channel or a NATS subject.",
      );
    }
    const meta = this.checker.metaShape;
    inbound.forEach((entry, position) => {
      const target = this.index.message(entry.target);
      if (!target) return;
      this.checker.checkMapping(
        { nodeId: system.id, field: `inbound[${position}].mapping`, input: "inbound", variants: [{ label: `message ${entry.message}`, env: { message: ExpressionChecker.anything, meta } }] },
        entry.mapping,
        { shape: this.checker.payloadShape(target), label: target.data.name, required: target.data.schema.required },
      );
    });
    outbound.forEach((entry, position) => {
      const source = this.index.message(entry.source);
      if (!source) return;
      const root = source.type === "event" ? "event" : "command";
      this.checker.checkMapping(
        {
          nodeId: system.id,
          field: `outbound[${position}].mapping`,
          input: source.type === "event" ? "outboundEvent" : "outboundCommand",
          variants: this.checker.variantsForMessages([source], root, { meta }),
        },
        entry.mapping,
        { shape: ExpressionChecker.anything, label: `message ${entry.message}`, required: null },
      );
    });
  }

  // ——— definition ———

  build(): ProcessDefinitionV1 {
    const nodes = this.index.nodes;
    return {
      formatVersion: DEFINITION_FORMAT_VERSION,
      expressionLanguage: EXPRESSION_LANGUAGE,
      id: this.meta.id,
      name: this.meta.name,
      description: this.meta.description ?? "",
      contexts: nodes.context.map((context) => ({ id: context.id, name: context.data.name, description: context.data.description, color: context.data.color ?? null })),
      actors: nodes.actor.map((actor) => ({
        id: actor.id,
        name: actor.data.name,
        description: actor.data.description,
        context: refOrNull(this.index.ownContext(actor)),
        invokes: sortRefs(this.nodesOf(this.index.invokes.from(actor.id), "command")),
      })),
      commands: nodes.command.map((command) => this.buildCommand(command)),
      events: nodes.event.map((event) => this.buildEvent(event)),
      aggregates: nodes.aggregate.map((aggregate) => this.buildAggregate(aggregate)),
      processManagers: this.buildProcessManagers(),
      readModels: nodes.readModel.map((readModel) => this.buildReadModel(readModel)),
      timers: nodes.timer.map((timer) => this.buildTimer(timer)),
      externalSystems: nodes.externalSystem.map((system) => this.buildExternalSystem(system)),
    };
  }

  private fallbackSendersCache: Map<string, BoardNodeOf<"policy">[]> | undefined;
  /** Policies that send a command as compensation or on a deadline, by command id. */
  private fallbackSenders(): Map<string, BoardNodeOf<"policy">[]> {
    if (!this.fallbackSendersCache) {
      this.fallbackSendersCache = new Map();
      for (const policy of this.index.nodes.policy) {
        for (const commandId of [policy.data.compensation, policy.data.deadline?.onTimeout]) {
          if (commandId === undefined) continue;
          const list = this.fallbackSendersCache.get(commandId);
          if (list) list.push(policy);
          else this.fallbackSendersCache.set(commandId, [policy]);
        }
      }
    }
    return this.fallbackSendersCache;
  }

  private buildCommand(command: CommandNode): CommandDefinition {
    const context = this.commandContext(command);
    const senders = [...this.nodesOf(this.index.issues.to(command.id), "policy"), ...(this.fallbackSenders().get(command.id) ?? [])];
    const fromOutside =
      this.index.invokes.to(command.id).length > 0 ||
      this.index.receives.to(command.id).length > 0 ||
      senders.some((policy) => {
        const policyContext = this.index.ownContext(policy);
        return policyContext !== undefined && context !== undefined && policyContext.id !== context.id;
      });
    return {
      id: command.id,
      name: command.data.name,
      description: command.data.description,
      context: refOrNull(context),
      visibility: fromOutside ? "public" : "internal",
      schema: canonicalSchema(command.data.schema),
    };
  }

  private buildEvent(event: EventNode): EventDefinition {
    return {
      id: event.id,
      name: event.data.name,
      description: event.data.description,
      context: refOrNull(this.eventContext(event)),
      visibility: event.data.visibility,
      lifecycle: event.data.lifecycle,
      schema: canonicalSchema(event.data.schema),
    };
  }

  private buildAggregate(aggregate: BoardNodeOf<"aggregate">): AggregateDefinition {
    const data = aggregate.data;
    const handled = this.commandsHandledBy(aggregate);
    const evolutions = [...data.evolutions]
      .map((evolution) => ({ evolution, event: this.index.node(evolution.event, "event") as EventNode }))
      .sort((a, b) => byNameThenId(a.event, b.event));
    return {
      id: aggregate.id,
      name: data.name,
      description: data.description,
      context: refOrNull(this.index.ownContext(aggregate)),
      idExpression: expression("aggregateId", data.idExpression),
      handles: handled.map(ref),
      emits: sortRefs(this.nodesOf(this.index.emits.from(aggregate.id), "event")),
      state: data.stateFields.map((field) => ({ name: field.name, type: field.type, initial: canonicalValue(field.initial) })),
      decisions: handled.map((command) => ({
        command: ref(command),
        rules: data.rules
          .filter((rule) => rule.command === command.id)
          .map((rule) => ({
            id: rule.id,
            condition: optionalExpression("decision", rule.condition),
            outcome:
              rule.outcome.kind === "emit"
                ? {
                    kind: "emit" as const,
                    events: rule.outcome.events.map((emitted) => ({
                      event: ref(this.index.node(emitted.event, "event") as EventNode),
                      mapping: mapping("decision", emitted.mapping),
                    })),
                  }
                : { kind: "reject" as const, reason: rule.outcome.reason },
          })),
      })),
      evolutions: evolutions.map(({ evolution, event }) => ({ event: ref(event), set: mapping("evolution", evolution.set) })),
      snapshotEvery: data.snapshotEvery,
      expectedVersionField: data.expectedVersionField ?? null,
    };
  }

  /** The correlation key of the first start-triggered policy that declares one: the process's own key. */
  private primaryKey(): CompiledExpression | undefined {
    const policies = [...this.index.nodes.policy].sort((a, b) => compareText(a.id, b.id));
    for (const policy of policies) {
      const key = this.declaredKeys.get(policy.id);
      if (key && this.triggerEventsOf(policy).some((event) => event.data.lifecycle === "start")) return key;
    }
    return undefined;
  }

  /**
   * The key that finds the process instance for an event: the one a policy declares for it, else
   * the process's own key when the event carries its fields, else the causal correlation id.
   */
  private correlationKeyFor(event: EventNode, policy: BoardNodeOf<"policy"> | undefined, primary: CompiledExpression | undefined): Expression {
    const declared = policy ? this.declaredKeys.get(policy.id) : undefined;
    if (declared) return expression("policy", declared.source);
    if (!policy) {
      const reacting = this.nodesOf(this.index.triggers.from(event.id), "policy").sort((a, b) => compareText(a.id, b.id));
      const key = reacting.map((candidate) => this.declaredKeys.get(candidate.id)).find((candidate) => candidate !== undefined);
      if (key) return expression("policy", key.source);
    }
    if (primary && this.checker.readsOnlyFieldsOf(primary, event)) return expression("policy", primary.source);
    return expression("policy", "meta.correlationId");
  }

  private buildProcessManagers(): ProcessManagerDefinition[] {
    const events = this.index.nodes.event;
    const withLifecycle = (lifecycle: "start" | "complete" | "fail") => events.filter((event) => event.data.lifecycle === lifecycle);
    const starts = withLifecycle("start");
    if (this.index.nodes.policy.length === 0 && events.every((event) => event.data.lifecycle === "none")) return [];
    const primary = this.primaryKey();
    const lifecycleEntries = (list: EventNode[]) => list.map((event) => ({ event: ref(event), correlationKey: this.correlationKeyFor(event, undefined, primary) }));
    const startContexts = new Set(starts.map((event) => this.eventContext(event)));
    const context = startContexts.size === 1 ? [...startContexts][0] : undefined;
    return [
      {
        id: this.meta.id,
        name: this.meta.name,
        description: this.meta.description ?? "",
        context: refOrNull(context),
        start: lifecycleEntries(starts),
        completion: lifecycleEntries(withLifecycle("complete")),
        failure: lifecycleEntries(withLifecycle("fail")),
        steps: this.index.nodes.policy.map((policy) => this.buildStep(policy, primary)),
        stuckAfterMs: this.index.board.process.stuckAfterMs,
      },
    ];
  }

  private buildStep(policy: BoardNodeOf<"policy">, primary: CompiledExpression | undefined): StepDefinition {
    const data = policy.data;
    const command = this.nodesOf(this.index.issues.from(policy.id), "command")[0] as CommandNode;
    const triggers: StepTrigger[] = this.triggerEventsOf(policy).map((event) => ({
      kind: "event",
      event: ref(event),
      correlationKey: this.correlationKeyFor(event, policy, primary),
    }));
    for (const timer of this.timersOf(policy)) {
      for (const event of this.schedulingEventsOf(timer)) {
        triggers.push({ kind: "timer", timer: ref(timer), event: ref(event), correlationKey: this.correlationKeyFor(event, policy, primary) });
      }
    }
    const events = this.stepEventsOf(policy);
    const derivedDispatch = (commandId: string | undefined): Dispatch | null => {
      const target = this.index.node(commandId, "command");
      return target ? this.dispatch(target, this.derivedFields(target, events)) : null;
    };
    const retry = data.retry ?? retryPolicySchema.parse({});
    return {
      id: policy.id,
      name: data.name,
      description: data.description,
      context: refOrNull(this.index.ownContext(policy)),
      triggers,
      correlationKey: optionalExpression("policy", data.correlationKey),
      condition: optionalExpression("policy", data.condition),
      send: this.dispatch(command, data.mapping),
      expects: this.expectedAnswers(command),
      retry: { maxAttempts: retry.maxAttempts, initialDelayMs: retry.initialDelayMs, multiplier: retry.multiplier, maxDelayMs: retry.maxDelayMs },
      deadline: data.deadline ? { afterMs: data.deadline.afterMs, onTimeout: derivedDispatch(data.deadline.onTimeout) } : null,
      compensation: derivedDispatch(data.compensation),
    };
  }

  private dispatch(command: CommandNode, fields: Readonly<Record<string, string>>): Dispatch {
    const aggregate = this.handlersOf(command)[0];
    const system = this.externalHandlersOf(command)[0];
    const handler = aggregate
      ? { kind: "aggregate" as const, id: aggregate.id, name: aggregate.data.name }
      : { kind: "externalSystem" as const, id: (system as BoardNodeOf<"externalSystem">).id, name: (system as BoardNodeOf<"externalSystem">).data.name };
    return { command: ref(command), context: refOrNull(this.commandContext(command)), handler, mapping: mapping("policy", fields) };
  }

  /** Fields a compensation or timeout command takes from same-named fields of every triggering event. */
  private derivedFields(command: CommandNode, events: readonly EventNode[]): Record<string, string> {
    const fields: Record<string, string> = {};
    for (const field of Object.keys(command.data.schema.properties)) {
      if (events.length > 0 && events.every((event) => event.data.schema.properties[field] !== undefined)) fields[field] = `event.${field}`;
    }
    return fields;
  }

  private expectedAnswers(command: CommandNode): ElementRef[] {
    const aggregate = this.handlersOf(command)[0];
    if (aggregate) return sortRefs(this.nodesOf(eventsDecidedFor(aggregate, command.id), "event"));
    const systems = this.externalHandlersOf(command);
    return sortRefs(this.nodesOf([...new Set(systems.flatMap((system) => this.index.receives.from(system.id)))], "event"));
  }

  private buildReadModel(readModel: BoardNodeOf<"readModel">): ReadModelDefinition {
    const data = readModel.data;
    const updates = data.updates
      .map((update) => ({ update, event: this.index.node(update.event, "event") as EventNode }))
      .sort((a, b) => byNameThenId(a.event, b.event));
    return {
      id: readModel.id,
      name: data.name,
      description: data.description,
      context: refOrNull(this.index.ownContext(readModel)),
      fields: data.fields.map((field) => ({ name: field.name, type: field.type, initial: canonicalValue(field.initial) })),
      updates: updates.map(({ update, event }) => ({
        event: ref(event),
        key: expression("projection", update.key),
        set: mapping("projection", update.set),
        remove: update.remove,
      })),
    };
  }

  private buildTimer(timer: BoardNodeOf<"timer">): TimerDefinition {
    return {
      id: timer.id,
      name: timer.data.name,
      description: timer.data.description,
      context: refOrNull(this.index.ownContext(timer)),
      afterMs: timer.data.afterMs,
      scheduledBy: this.schedulingEventsOf(timer).map(ref),
    };
  }

  private buildExternalSystem(system: BoardNodeOf<"externalSystem">): ExternalSystemDefinition {
    const data = system.data;
    const messageRef = (message: MessageNode) => ({ kind: message.type, id: message.id, name: message.data.name });
    const inbound = data.inbound.map((entry) => {
      const target = this.index.message(entry.target) as MessageNode;
      return { message: entry.message, target: messageRef(target), mapping: mapping("inbound", entry.mapping) };
    });
    const mappedTargets = new Set(data.inbound.map((entry) => entry.target));
    for (const targetId of this.index.receives.from(system.id)) {
      const target = this.index.message(targetId);
      if (!target || mappedTargets.has(targetId)) continue;
      inbound.push({ message: target.data.name, target: messageRef(target), mapping: mapping("inbound", identityFields(target, "message")) });
    }
    const outbound = data.outbound.map((entry) => {
      const source = this.index.message(entry.source) as MessageNode;
      return { source: messageRef(source), message: entry.message, mapping: mapping(source.type === "event" ? "outboundEvent" : "outboundCommand", entry.mapping) };
    });
    const mappedSources = new Set(data.outbound.map((entry) => entry.source));
    for (const sourceId of this.index.delivers.to(system.id)) {
      const source = this.index.message(sourceId);
      if (!source || mappedSources.has(sourceId)) continue;
      outbound.push({
        source: messageRef(source),
        message: source.data.name,
        mapping: mapping(source.type === "event" ? "outboundEvent" : "outboundCommand", identityFields(source, source.type)),
      });
    }
    inbound.sort((a, b) => compareText(a.message, b.message) || compareText(a.target.name, b.target.name) || compareText(a.target.id, b.target.id));
    outbound.sort((a, b) => compareText(a.source.name, b.source.name) || compareText(a.source.id, b.source.id) || compareText(a.message, b.message));
    return {
      id: system.id,
      name: data.name,
      description: data.description,
      context: refOrNull(this.index.ownContext(system)),
      binding: canonicalBinding(data.binding),
      inbound,
      outbound,
    };
  }

}

/** The payload passed through unchanged: each field read from the same-named field of `root`. */
function identityFields(message: MessageNode, root: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const field of Object.keys(message.data.schema.properties)) fields[field] = `${root}.${field}`;
  return fields;
}

const addressName = { webhook: "URL", redis: "channel", nats: "subject" } as const;

function bindingAddress(binding: BoardNodeOf<"externalSystem">["data"]["binding"]): string | undefined {
  switch (binding.kind) {
    case "none":
      return undefined;
    case "webhook":
      return binding.url.trim() || undefined;
    case "redis":
      return binding.channel.trim() || undefined;
    case "nats":
      return binding.subject.trim() || undefined;
    default: {
      const unreachable: never = binding;
      return unreachable;
    }
  }
}

function canonicalBinding(binding: BoardNodeOf<"externalSystem">["data"]["binding"]): BindingDefinition {
  switch (binding.kind) {
    case "none":
      return { kind: "none" };
    case "webhook":
      return { kind: "webhook", url: binding.url.trim(), secret: binding.secret ?? null };
    case "redis":
      return {
        kind: "redis",
        channel: binding.channel.trim(),
        mode: binding.mode,
        ...(binding.mode === "stream" && binding.batchSize !== undefined ? { batchSize: binding.batchSize } : {}),
        ...(binding.mode === "stream" && binding.pollIntervalMs !== undefined ? { pollIntervalMs: binding.pollIntervalMs } : {}),
      };
    case "nats":
      return { kind: "nats", subject: binding.subject.trim(), queueGroup: binding.queueGroup ?? null };
    default: {
      const unreachable: never = binding;
      return unreachable;
    }
  }
}
