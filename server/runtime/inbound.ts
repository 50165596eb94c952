/**
 * Messages entering the runtime from outside a handler: events started or sent by hand, events and
 * messages reported by external systems (POST /api/events), commands sent by hand. Payloads are
 * validated against their schema before anything is stored; an invalid one is refused with every
 * violation listed. Each batch is stored, with the deliveries it causes, in one transaction.
 */
import type { SqlQueryable, SqlTransaction } from "../db/sql.ts";
import type { CommandDefinition, EventDefinition } from "../definition/v1.ts";
import { randomUUID } from "node:crypto";
import { payloadViolations } from "./core/payload-schema.ts";
import type { Payload } from "./core/types.ts";
import { notifyWorkers, type RuntimeContext } from "./context.ts";
import { PayloadValidationError } from "./errors.ts";
import { inboundStreamId, instanceIdOf } from "./names.ts";
import type { NewOutboxMessage, OutboxMessage } from "./outbox.ts";
import { AppendRaceError, appendToStream, ConcurrencyError } from "../eventstore/index.ts";
import { claimInbox, CommitLog, enqueueLogged, eventMetadata, recordDomainEvents } from "./recording.ts";
import { commandMessage, routeEvent } from "./routing.ts";
import type { LoadedVersion } from "./versions.ts";

export interface InboundEvent {
  kind: "event";
  version: LoadedVersion;
  definition: EventDefinition;
  payload: Payload;
  messageId?: string;
  correlationId?: string;
  causationId?: string;
}

export interface InboundCommand {
  kind: "command";
  version: LoadedVersion;
  definition: CommandDefinition;
  payload: Payload;
  messageId?: string;
  correlationId?: string;
  causationId?: string;
}

export type InboundMessage = InboundEvent | InboundCommand;

export interface InboundResult {
  kind: "event" | "command";
  name: string;
  messageId: string;
  correlationId: string;
  /** The message id was seen before: nothing new was stored. */
  duplicate: boolean;
  /** Events: the stream it was stored in. Commands: the stream key it was queued under. */
  streamId: string;
  /** Process instances the message was delivered to. */
  instanceIds: string[];
}

/** Every violation of every message, prefixed with the message's name when there are several. */
export function validateInbound(messages: readonly InboundMessage[]): void {
  const problems: string[] = [];
  for (const [index, message] of messages.entries()) {
    const prefix = messages.length > 1 ? `[${index}] ${message.definition.name} ` : "";
    for (const violation of payloadViolations(message.definition.schema, message.payload)) problems.push(`${prefix}${violation}`);
  }
  if (problems.length > 0) throw new PayloadValidationError(messages.length === 1 ? messages[0]!.definition.name : "The messages", problems);
}

/**
 * An event without a version of its own (reported from outside) reaches the instance its key
 * names, whichever version that instance runs on: when the chosen version has no such instance
 * but another version of the board has one, the delivery goes there instead.
 */
async function toExistingInstances(tx: SqlQueryable, rt: RuntimeContext, version: LoadedVersion, event: InboundEvent, deliveries: NewOutboxMessage[]): Promise<NewOutboxMessage[]> {
  const result: NewOutboxMessage[] = [];
  for (const delivery of deliveries) {
    const key = delivery.metadata.correlationKey;
    const process = version.index.processesById.get(delivery.targetId);
    const starts = process?.start.some((entry) => entry.event.id === event.definition.id) ?? false;
    if (delivery.kind !== "event" || key === undefined || starts) {
      result.push(delivery);
      continue;
    }
    const { rows } = await tx.query<{ id: string; version_id: string }>(
      `SELECT id, version_id FROM runtime_instances WHERE board_id = $1 AND process_id = $2 AND correlation_key = $3 ORDER BY (version_id = $4) DESC, started_at DESC LIMIT 1`,
      [version.boardId, delivery.targetId, key, version.id],
    );
    const existing = rows[0];
    if (!existing || existing.version_id === version.id) {
      result.push(delivery);
      continue;
    }
    const other = await rt.versions.get(existing.version_id, tx);
    const otherEvent = other.index.eventsByName.get(event.definition.name);
    if (!otherEvent) {
      result.push(delivery);
      continue;
    }
    const carried = delivery.metadata.delivery;
    if (carried?.input !== "event") {
      result.push(delivery);
      continue;
    }
    const rerouted = await routeEvent(other, { definition: otherEvent, payload: event.payload, meta: carried.meta });
    result.push(...rerouted.filter((candidate) => candidate.kind === "event" && candidate.instanceId === instanceIdOf(other.id, delivery.targetId, key)));
  }
  return result;
}

/** Stores and routes the messages (already validated), all in one transaction. */
export interface AcceptOptions {
  /** Route events that carry no version to existing instances of other versions (see toExistingInstances). */
  followInstances?: boolean;
  /** A local worker takes the first message queued straight away (claimed in the same transaction). */
  handoff?: { leaseMs: number; adopt(message: OutboxMessage): void };
}

export async function acceptInbound(rt: RuntimeContext, messages: readonly InboundMessage[], options: AcceptOptions = {}): Promise<InboundResult[]> {
  validateInbound(messages);
  const { log, accepted } = await retryingAppendRaces(() => rt.shared.inbound.transaction((tx) => storeInbound(tx, rt, messages, options)));
  afterInbound(rt, log, options);
  return accepted;
}

/** Runs `store` again when the same message ids were appended concurrently elsewhere: the retry finds them stored. */
export async function retryingAppendRaces<T>(store: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await store();
    } catch (error) {
      if (error instanceof AppendRaceError && attempt < 3) continue;
      throw error;
    }
  }
}

/** Once the transaction of storeInbound committed: announce it, and hand what it claimed to the local worker. */
export function afterInbound(rt: RuntimeContext, log: CommitLog, options: AcceptOptions): void {
  rt.afterCommit(log);
  if (log.next) options.handoff?.adopt(log.next);
}

/**
 * Stores the messages (already validated) and the deliveries they cause in the caller's
 * transaction; the caller passes the log to afterInbound once it committed.
 */
export async function storeInbound(tx: SqlTransaction, rt: RuntimeContext, messages: readonly InboundMessage[], options: AcceptOptions): Promise<{ log: CommitLog; accepted: InboundResult[] }> {
  const now = rt.clock.now();
  const log = new CommitLog(now);
  if (options.handoff) log.handoff = { token: randomUUID(), leaseUntil: new Date(now.getTime() + options.handoff.leaseMs) };
  const accepted: InboundResult[] = [];
  for (const message of messages) {
    const messageId = message.messageId ?? randomUUID();
    const correlationId = message.correlationId ?? messageId;
    const causationId = message.causationId ?? messageId;
    switch (message.kind) {
      case "event": {
        const streamId = inboundStreamId(message.version.boardId, messageId);
        const before = log.inspection.length;
        const appended = await recordInboundEvent(tx, rt, log, message, { messageId, correlationId, causationId, streamId, now, followInstances: options.followInstances ?? false });
        const instanceIds = log.inspection.slice(before).flatMap((entry) => (entry.kind === "message.queued" && entry.messageKind === "event" && entry.instanceId ? [entry.instanceId] : []));
        accepted.push({ kind: "event", name: message.definition.name, messageId, correlationId, duplicate: appended.duplicate, streamId, instanceIds });
        break;
      }
      case "command": {
        const fresh = await claimInbox(tx, `inbound:${message.version.boardId}`, messageId, now);
        const queued = await commandMessage(message.version, { definition: message.definition, payload: message.payload, messageId, correlationId, causationId, occurredAt: now.toISOString() });
        if (fresh) await enqueueLogged(tx, log, [queued], now);
        accepted.push({ kind: "command", name: message.definition.name, messageId, correlationId, duplicate: !fresh, streamId: queued.streamKey, instanceIds: [] });
        break;
      }
      default: {
        const unknownMessage: never = message;
        throw new Error(`unknown inbound message ${JSON.stringify(unknownMessage)}`);
      }
    }
  }
  if (log.queuedForAnyWorker) notifyWorkers(tx, rt.sql);
  return { log, accepted };
}

async function recordInboundEvent(
  tx: SqlQueryable,
  rt: RuntimeContext,
  log: CommitLog,
  message: InboundEvent,
  fields: { messageId: string; correlationId: string; causationId: string; streamId: string; now: Date; followInstances: boolean },
) {
  if (!fields.followInstances) {
    try {
      return await recordDomainEvents(
        tx,
        log,
        message.version,
        fields.streamId,
        [{ definition: message.definition, payload: message.payload, messageId: fields.messageId, context: message.definition.context }],
        { correlationId: fields.correlationId, causationId: fields.causationId, occurredAt: fields.now.toISOString() },
        { expectedVersion: "no_stream", now: fields.now },
      );
    } catch (error) {
      // The stream is this message's own: found already there, it was stored by a transaction that
      // committed meanwhile. Run again, the message is then a duplicate.
      if (error instanceof ConcurrencyError) throw new AppendRaceError(fields.streamId);
      throw error;
    }
  }
  // Routed by hand so deliveries can follow existing instances to their versions.
  return recordFollowingInstances(tx, rt, log, message, fields);
}

async function recordFollowingInstances(
  tx: SqlQueryable,
  rt: RuntimeContext,
  log: CommitLog,
  message: InboundEvent,
  fields: { messageId: string; correlationId: string; causationId: string; streamId: string; now: Date },
) {
  const newEvent = {
    type: message.definition.name,
    data: message.payload,
    metadata: eventMetadata(message.version, {
      messageId: fields.messageId,
      correlationId: fields.correlationId,
      causationId: fields.causationId,
      context: message.definition.context,
      elementId: message.definition.id,
    }),
  };
  const result = await appendToStream(tx, fields.streamId, [newEvent], { now: fields.now });
  log.appendedEvents(message.version, fields.streamId, [newEvent], result);
  if (result.duplicate) return result;
  const meta = {
    messageId: fields.messageId,
    messageName: message.definition.name,
    correlationId: fields.correlationId,
    causationId: fields.causationId,
    occurredAt: fields.now.toISOString(),
    version: result.nextExpectedVersion,
  };
  const routed = await routeEvent(message.version, { definition: message.definition, payload: message.payload, meta });
  await enqueueLogged(tx, log, await toExistingInstances(tx, rt, message.version, message, routed), fields.now);
  return result;
}
