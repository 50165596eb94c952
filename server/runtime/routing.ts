/**
 * What a recorded event or a command turns into in the outbox: deliveries to the process
 * instances the event concerns (found by evaluating their correlation keys), messages for the
 * external systems that receive it, and commands addressed to the stream of the aggregate that
 * handles them. Evaluates expressions but does no I/O.
 */
import type { CommandDefinition, Dispatch, EventDefinition } from "../definition/v1.ts";
import { applyMapping, evaluateKey, ExpressionFailure } from "./core/expressions.ts";
import { DEFAULT_RETRY_POLICY, type MessageMeta, type Payload, type RetryPolicy } from "./core/types.ts";
import { aggregateStreamId, externalStreamKey, instanceIdOf, unroutableStreamKey } from "./names.ts";
import type { NewOutboxMessage, ReplyTo } from "./outbox.ts";
import type { LoadedVersion } from "./versions.ts";

export interface RecordedDomainEvent {
  definition: EventDefinition;
  payload: Payload;
  meta: MessageMeta;
}

export async function routeEvent(version: LoadedVersion, event: RecordedDomainEvent): Promise<NewOutboxMessage[]> {
  const messages: NewOutboxMessage[] = [];
  const ref = { id: event.definition.id, name: event.definition.name };
  for (const route of version.index.processRoutes.get(event.definition.id) ?? []) {
    const process = route.process;
    const base = {
      messageId: event.meta.messageId,
      kind: "event" as const,
      boardId: version.boardId,
      versionId: version.id,
      targetId: process.id,
      contextId: process.context?.id ?? null,
      type: event.definition.name,
      payload: event.payload,
      retry: DEFAULT_RETRY_POLICY,
    };
    const metadata = {
      correlationId: event.meta.correlationId,
      causationId: event.meta.messageId,
      occurredAt: event.meta.occurredAt,
      elementId: event.definition.id,
      delivery: { input: "event" as const, event: ref, meta: event.meta },
    };
    let key: string | undefined;
    let failure: ExpressionFailure | undefined;
    for (const expression of route.correlationKeys) {
      try {
        key = await evaluateKey(expression, { event: event.payload, meta: event.meta }, `${process.name} correlation key for ${event.definition.name}`);
        break;
      } catch (error) {
        if (!(error instanceof ExpressionFailure)) throw error;
        failure ??= error;
      }
    }
    if (key === undefined) {
      // Parked by the handler with this reason, so the failure shows in the dead-letter queue.
      const routingError = failure?.message ?? `${process.name} has no correlation key for ${event.definition.name}`;
      messages.push({ ...base, streamKey: unroutableStreamKey(version.boardId, event.meta.messageId), instanceId: null, metadata: { ...metadata, routingError } });
      continue;
    }
    const instanceId = instanceIdOf(version.id, process.id, key);
    messages.push({ ...base, streamKey: instanceId, instanceId, metadata: { ...metadata, correlationKey: key } });
  }
  for (const { system, entry } of version.index.outbound.get(event.definition.id) ?? []) {
    if (entry.source.kind !== "event") continue;
    const payload = await applyMapping(entry.mapping, { event: event.payload, meta: event.meta }, `${system.name} outbound ${entry.message}`);
    messages.push({
      messageId: event.meta.messageId,
      streamKey: externalStreamKey(version.boardId, system.id, event.meta.correlationId),
      kind: "external",
      boardId: version.boardId,
      versionId: version.id,
      targetId: system.id,
      contextId: system.context?.id ?? null,
      instanceId: null,
      type: entry.message,
      payload,
      metadata: {
        correlationId: event.meta.correlationId,
        causationId: event.meta.messageId,
        occurredAt: event.meta.occurredAt,
        elementId: event.definition.id,
        source: { kind: "event", ...ref },
      },
      retry: DEFAULT_RETRY_POLICY,
    });
  }
  return messages;
}

export interface CommandToSend {
  definition: CommandDefinition;
  payload: Payload;
  messageId: string;
  correlationId: string;
  causationId: string;
  occurredAt: string;
  /** Where a process manager sends it; absent for commands sent by hand (the definition says who handles it). */
  dispatch?: Pick<Dispatch, "handler" | "context">;
  replyTo?: ReplyTo;
  retry?: RetryPolicy;
  instanceId?: string | null;
}

/** The handler of a command: the dispatch's, else the aggregate that handles it, else an external system. */
export function commandHandler(version: LoadedVersion, command: CommandDefinition, dispatch?: Pick<Dispatch, "handler" | "context">) {
  if (dispatch) return dispatch.handler;
  const aggregate = version.index.aggregateByCommand.get(command.id);
  if (aggregate) return { kind: "aggregate" as const, id: aggregate.id, name: aggregate.name };
  const system = version.index.externalHandlerByCommand.get(command.id);
  if (system) return { kind: "externalSystem" as const, id: system.id, name: system.name };
  return null;
}

export async function commandMessage(version: LoadedVersion, command: CommandToSend): Promise<NewOutboxMessage> {
  const handler = commandHandler(version, command.definition, command.dispatch);
  if (!handler) throw new ExpressionFailure(command.definition.name, "", "no aggregate or external system handles this command");
  let streamKey: string;
  let contextId = command.dispatch?.context?.id ?? command.definition.context?.id ?? null;
  if (handler.kind === "aggregate") {
    const aggregate = version.index.aggregatesById.get(handler.id);
    if (!aggregate) throw new ExpressionFailure(command.definition.name, "", `its handler ${handler.name} is not in the definition`);
    contextId ??= aggregate.context?.id ?? null;
    const meta = { messageId: command.messageId, messageName: command.definition.name, correlationId: command.correlationId, causationId: command.causationId, occurredAt: command.occurredAt, version: 0 };
    try {
      streamKey = aggregateStreamId(version.boardId, aggregate.name, await evaluateKey(aggregate.idExpression, { command: command.payload, meta }, `${aggregate.name} id`));
    } catch (error) {
      if (!(error instanceof ExpressionFailure)) throw error;
      // The handler evaluates the id again and parks the command with the error.
      streamKey = unroutableStreamKey(version.boardId, command.messageId);
    }
  } else {
    const system = version.index.externalSystemsById.get(handler.id);
    contextId ??= system?.context?.id ?? null;
    streamKey = externalStreamKey(version.boardId, handler.id, command.correlationId);
  }
  return {
    messageId: command.messageId,
    streamKey,
    kind: "command",
    boardId: version.boardId,
    versionId: version.id,
    targetId: handler.id,
    contextId,
    instanceId: command.instanceId ?? command.replyTo?.instanceId ?? null,
    type: command.definition.name,
    payload: command.payload,
    metadata: {
      correlationId: command.correlationId,
      causationId: command.causationId,
      occurredAt: command.occurredAt,
      elementId: command.definition.id,
      handler,
      ...(command.replyTo ? { replyTo: command.replyTo } : {}),
    },
    retry: command.retry ?? DEFAULT_RETRY_POLICY,
  };
}

/** The outcome of a command a process instance sent, delivered back to the instance. */
export function commandOutcomeMessage(
  version: LoadedVersion,
  command: { messageId: string; type: string; metadata: { correlationId: string; replyTo?: ReplyTo } },
  outcome: "handled" | "rejected" | "discarded",
  reason: string | null,
  now: Date,
  messageId: string,
): NewOutboxMessage | null {
  const replyTo = command.metadata.replyTo;
  if (!replyTo) return null;
  if (outcome === "handled" && replyTo.ack !== "always") return null;
  const process = version.index.processesById.get(replyTo.processId);
  return {
    messageId,
    streamKey: replyTo.instanceId,
    kind: "event",
    boardId: version.boardId,
    versionId: version.id,
    targetId: replyTo.processId,
    contextId: process?.context?.id ?? null,
    instanceId: replyTo.instanceId,
    type: `$Command${outcome === "handled" ? "Handled" : outcome === "rejected" ? "Rejected" : "Discarded"}`,
    payload: { command: command.type, commandMessageId: command.messageId, reason },
    metadata: {
      correlationId: command.metadata.correlationId,
      causationId: command.messageId,
      occurredAt: now.toISOString(),
      elementId: replyTo.processId,
      correlationKey: replyTo.correlationKey,
      delivery: { input: "command-outcome", commandMessageId: command.messageId, outcome, reason },
    },
    retry: DEFAULT_RETRY_POLICY,
  };
}
