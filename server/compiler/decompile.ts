/**
 * Process definition → board, laid out. Compiling the result gives back the same definition:
 * everything the compiler derives (contexts of messages, visibility of commands, what a step
 * expects) follows from the nodes and edges written here.
 */
import type { BoardDocument, BoardEdge, BoardNode, ExternalBinding, PayloadSchema } from "../board/document.ts";
import { migrateBoardDocument } from "../board/migrations.ts";
import type { BindingDefinition, ElementRef, PayloadSchemaV1, ProcessDefinitionV1 } from "../definition/v1.ts";
import type { ProcessMeta } from "./compile.ts";
import { layoutBoard } from "./layout.ts";

export interface ImportedBoard {
  meta: Required<ProcessMeta>;
  board: BoardDocument;
}

const DEFAULT_STUCK_AFTER_MS = 300_000;

function boardBinding(binding: BindingDefinition): ExternalBinding {
  switch (binding.kind) {
    case "none":
      return { kind: "none" };
    case "webhook":
      return { kind: "webhook", url: binding.url, ...(binding.secret !== null ? { secret: binding.secret } : {}) };
    case "redis":
      return {
        kind: "redis",
        channel: binding.channel,
        mode: binding.mode,
        ...(binding.batchSize !== undefined ? { batchSize: binding.batchSize } : {}),
        ...(binding.pollIntervalMs !== undefined ? { pollIntervalMs: binding.pollIntervalMs } : {}),
      };
    case "nats":
      return { kind: "nats", subject: binding.subject, ...(binding.queueGroup !== null ? { queueGroup: binding.queueGroup } : {}) };
    default: {
      const unreachable: never = binding;
      return unreachable;
    }
  }
}

const boardSchema = (schema: PayloadSchemaV1): PayloadSchema => ({ type: "object", properties: schema.properties, required: schema.required });
const initialValue = (initial: unknown) => (initial === null ? {} : { initial });

export async function decompileDefinition(definition: ProcessDefinitionV1): Promise<ImportedBoard> {
  const nodes: BoardNode[] = [];
  const edges: BoardEdge[] = [];
  const edgeKeys = new Set<string>();
  const connect = (source: string, target: string) => {
    const key = `${source}->${target}`;
    if (edgeKeys.has(key)) return;
    edgeKeys.add(key);
    edges.push({ id: key.length <= 100 ? key : `edge-${edges.length + 1}`, source, target });
  };
  const place = (context: ElementRef | null) => ({ position: { x: 0, y: 0 }, ...(context ? { parentId: context.id } : {}) });

  for (const context of definition.contexts) {
    nodes.push({
      id: context.id,
      type: "context",
      position: { x: 0, y: 0 },
      data: { name: context.name, description: context.description, ...(context.color !== null ? { color: context.color } : {}) },
    });
  }
  for (const actor of definition.actors) {
    nodes.push({ id: actor.id, type: "actor", ...place(actor.context), data: { name: actor.name, description: actor.description } });
    for (const command of actor.invokes) connect(actor.id, command.id);
  }
  for (const command of definition.commands) {
    nodes.push({ id: command.id, type: "command", ...place(command.context), data: { name: command.name, description: command.description, schema: boardSchema(command.schema) } });
  }
  for (const event of definition.events) {
    nodes.push({
      id: event.id,
      type: "event",
      ...place(event.context),
      data: { name: event.name, description: event.description, schema: boardSchema(event.schema), visibility: event.visibility, lifecycle: event.lifecycle },
    });
  }
  for (const aggregate of definition.aggregates) {
    nodes.push({
      id: aggregate.id,
      type: "aggregate",
      ...place(aggregate.context),
      data: {
        name: aggregate.name,
        description: aggregate.description,
        idExpression: aggregate.idExpression.source,
        stateFields: aggregate.state.map((field) => ({ name: field.name, type: field.type, ...initialValue(field.initial) })),
        rules: aggregate.decisions.flatMap((decision) =>
          decision.rules.map((rule) => ({
            id: rule.id,
            command: decision.command.id,
            ...(rule.condition ? { condition: rule.condition.source } : {}),
            outcome:
              rule.outcome.kind === "emit"
                ? { kind: "emit" as const, events: rule.outcome.events.map((emitted) => ({ event: emitted.event.id, mapping: emitted.mapping.fields })) }
                : { kind: "reject" as const, reason: rule.outcome.reason },
          })),
        ),
        evolutions: aggregate.evolutions.map((evolution) => ({ event: evolution.event.id, set: evolution.set.fields })),
        snapshotEvery: aggregate.snapshotEvery,
        ...(aggregate.expectedVersionField !== null ? { expectedVersionField: aggregate.expectedVersionField } : {}),
      },
    });
    for (const command of aggregate.handles) connect(command.id, aggregate.id);
    for (const event of aggregate.emits) connect(aggregate.id, event.id);
  }
  for (const timer of definition.timers) {
    nodes.push({ id: timer.id, type: "timer", ...place(timer.context), data: { name: timer.name, description: timer.description, afterMs: timer.afterMs } });
    for (const event of timer.scheduledBy) connect(event.id, timer.id);
  }
  let stuckAfterMs = DEFAULT_STUCK_AFTER_MS;
  for (const manager of definition.processManagers) {
    stuckAfterMs = manager.stuckAfterMs;
    for (const step of manager.steps) {
      nodes.push({
        id: step.id,
        type: "policy",
        ...place(step.context),
        data: {
          name: step.name,
          description: step.description,
          mapping: step.send.mapping.fields,
          correlationKey: step.correlationKey?.source ?? "",
          ...(step.condition ? { condition: step.condition.source } : {}),
          retry: { ...step.retry },
          ...(step.deadline
            ? { deadline: { afterMs: step.deadline.afterMs, ...(step.deadline.onTimeout ? { onTimeout: step.deadline.onTimeout.command.id } : {}) } }
            : {}),
          ...(step.compensation ? { compensation: step.compensation.command.id } : {}),
        },
      });
      for (const trigger of step.triggers) connect(trigger.kind === "event" ? trigger.event.id : trigger.timer.id, step.id);
      connect(step.id, step.send.command.id);
    }
  }
  for (const readModel of definition.readModels) {
    nodes.push({
      id: readModel.id,
      type: "readModel",
      ...place(readModel.context),
      data: {
        name: readModel.name,
        description: readModel.description,
        fields: readModel.fields.map((field) => ({ name: field.name, type: field.type, ...initialValue(field.initial) })),
        updates: readModel.updates.map((update) => ({ event: update.event.id, key: update.key.source, set: update.set.fields, remove: update.remove })),
      },
    });
    for (const update of readModel.updates) connect(update.event.id, readModel.id);
  }
  for (const system of definition.externalSystems) {
    nodes.push({
      id: system.id,
      type: "externalSystem",
      ...place(system.context),
      data: {
        name: system.name,
        description: system.description,
        binding: boardBinding(system.binding),
        inbound: system.inbound.map((entry) => ({ message: entry.message, target: entry.target.id, mapping: entry.mapping.fields })),
        outbound: system.outbound.map((entry) => ({ source: entry.source.id, message: entry.message, mapping: entry.mapping.fields })),
      },
    });
    for (const entry of system.inbound) connect(system.id, entry.target.id);
    for (const entry of system.outbound) connect(entry.source.id, system.id);
  }

  const board = migrateBoardDocument({ schemaVersion: 1, nodes, edges, process: { stuckAfterMs } });
  return {
    meta: { id: definition.id, name: definition.name, description: definition.description },
    board: await layoutBoard(board),
  };
}
