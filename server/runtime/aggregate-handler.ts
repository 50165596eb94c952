import { randomUUID } from "node:crypto";
/**
 * Handles a command addressed to an aggregate: deduplicate by message id, load the aggregate
 * (snapshot + later events), decide, append the events with the version it was loaded at, route
 * them, all in one transaction. A conflicting concurrent append is retried from the load a few
 * times; a rejection is stored as a `$CommandRejected` record (with its reason) and reported back
 * to the process instance that sent the command.
 */
import { createHash } from "node:crypto";
import type { SqlQueryable } from "../db/sql.ts";
import type { AggregateDefinition, ReadModelDefinition } from "../definition/v1.ts";
import { AppendRaceError, appendToStream, ConcurrencyError, getReadModelRow, NotFoundError, readStream, saveSnapshot, type NewEvent } from "../eventstore/index.ts";
import { aggregateDecider, type AggregateDecider, type AggregateState } from "./core/aggregate.ts";
import { evaluateKey } from "./core/expressions.ts";
import { derivedId } from "./core/ids.ts";
import { payloadViolations } from "./core/payload-schema.ts";
import type { MessageMeta } from "./core/types.ts";
import type { ViewRow } from "./core/views.ts";
import type { RuntimeContext } from "./context.ts";
import { notifyWorkers } from "./context.ts";
import { LostClaimError, PermanentHandlerError } from "./errors.ts";
import type { HandledOutcome } from "./inspection.ts";
import { aggregateStreamId, rejectionStreamId } from "./names.ts";
import type { OutboxMessage } from "./outbox.ts";
import { readModelProjectionName } from "./read-model-projections.ts";
import { CommitLog, enqueueLogged, eventMetadata, InboxRaceError, recordDomainEvents, recordInbox, takeAndCheckInbox } from "./recording.ts";
import { commandOutcomeMessage } from "./routing.ts";
import type { LoadedVersion } from "./versions.ts";

export interface HandleResult {
  outcome: HandledOutcome;
  reason: string | null;
  events: string[];
  log: CommitLog;
  /** A message the handling queued and claimed for this worker: handle it next. */
  next: OutboxMessage | null;
}

export interface HandlerOptions {
  /** Claim the first message the handling queues for this long (see Handoff). */
  handoffLeaseMs?: number;
}

/** Conflicts with concurrent writers of the same aggregate are retried this often before the attempt fails. */
export const MAX_CONFLICT_RETRIES = 5;
const PAGE = 1000;

export type CommandOutcomeRecord =
  | { kind: "accepted"; streamId: string; events: { type: string; messageId: string; position: number }[] }
  | { kind: "rejected"; code: string; reason: string; streamId: string };

const deciders = new WeakMap<AggregateDefinition, { decider: AggregateDecider; snapshotName: string }>();

function deciderFor(aggregate: AggregateDefinition) {
  let entry = deciders.get(aggregate);
  if (!entry) {
    // Snapshots are named after the aggregate's definition: a changed evolution ignores old ones.
    const fingerprint = createHash("sha256").update(JSON.stringify(aggregate)).digest("hex").slice(0, 16);
    entry = { decider: aggregateDecider(aggregate), snapshotName: `aggregate:${aggregate.id}:${fingerprint}` };
    deciders.set(aggregate, entry);
  }
  return entry;
}

export async function loadAggregate(
  tx: SqlQueryable,
  version: LoadedVersion,
  aggregate: AggregateDefinition,
  streamId: string,
): Promise<{ state: AggregateState; version: number }> {
  const { decider, snapshotName } = deciderFor(aggregate);
  let state = decider.initialState();
  let current = 0;
  let snapshotVersion = 0;
  if (aggregate.snapshotEvery > 0) {
    const { rows } = await tx.query<{ version: number; state: AggregateState }>(`SELECT version, state FROM snapshots WHERE stream_id = $1 AND name = $2`, [streamId, snapshotName]);
    if (rows[0]) {
      state = rows[0].state;
      current = snapshotVersion = rows[0].version;
    }
  }
  for (;;) {
    let slice;
    try {
      slice = await readStream(tx, streamId, { fromVersion: current + 1, limit: PAGE });
    } catch (error) {
      if (error instanceof NotFoundError) break;
      throw error;
    }
    for (const event of slice.events) {
      const elementId = typeof event.metadata.elementId === "string" ? event.metadata.elementId : version.index.eventsByName.get(event.type)?.id ?? event.type;
      state = await decider.evolve(state, { event: { id: elementId, name: event.type }, payload: event.data as Record<string, unknown> });
      current = event.streamVersion;
    }
    if (slice.events.length < PAGE) break;
  }
  if (aggregate.snapshotEvery > 0 && current - snapshotVersion >= aggregate.snapshotEvery) {
    await saveSnapshot(tx, streamId, snapshotName, current, state);
  }
  return { state, version: current };
}

/** A row of a board's read model as its projector last wrote it; a view not projected yet has no rows. */
async function readViewRow(tx: SqlQueryable, boardId: string, readModel: ReadModelDefinition, key: string): Promise<ViewRow | undefined> {
  try {
    return (await getReadModelRow<ViewRow>(tx, readModelProjectionName(boardId, readModel.name), key))?.data;
  } catch (error) {
    if (error instanceof NotFoundError) return undefined;
    throw error;
  }
}

export async function handleAggregateCommand(rt: RuntimeContext, message: OutboxMessage, claimToken: string | null, options: HandlerOptions = {}): Promise<HandleResult> {
  const version = await rt.versions.get(message.versionId);
  const aggregate = version.index.aggregatesById.get(message.targetId);
  const command = version.index.commandsById.get(message.metadata.elementId);
  if (!aggregate || !command) throw new PermanentHandlerError(`${message.type}: its handler or definition is missing from version ${version.id}`);
  const violations = payloadViolations(command.schema, message.payload);
  if (violations.length > 0) throw new PermanentHandlerError(`${command.name} does not match its schema: ${violations.join("; ")}`);
  const { decider } = deciderFor(aggregate);
  const consumer = `aggregate:${version.boardId}:${aggregate.id}`;

  for (let attempt = 1; ; attempt += 1) {
    try {
      return await rt.shared.handlings.transaction(async (tx) => {
        const now = rt.clock.now();
        const log = new CommitLog(now);
        if (claimToken !== null && options.handoffLeaseMs) log.handoff = { token: randomUUID(), leaseUntil: new Date(now.getTime() + options.handoffLeaseMs) };
        const taken = await takeAndCheckInbox(tx, claimToken === null ? null : { outboxId: message.id, token: claimToken }, consumer, message.messageId);
        if (!taken.claimed) throw new LostClaimError(message.id);
        if (taken.seen) return { outcome: "duplicate", reason: null, events: [], log, next: log.next };
        await rt.hooks.onEffect?.(tx, message);

        const meta: MessageMeta = {
          messageId: message.messageId,
          messageName: command.name,
          correlationId: message.metadata.correlationId,
          causationId: message.metadata.causationId,
          occurredAt: message.metadata.occurredAt,
          version: 0,
        };
        const key = await evaluateKey(aggregate.idExpression, { command: message.payload, meta }, `${aggregate.name} id`);
        const streamId = aggregateStreamId(version.boardId, aggregate.name, key);
        const loaded = await loadAggregate(tx, version, aggregate, streamId);
        const decision = await decider.decide({ command: { id: command.id, name: command.name }, payload: message.payload, meta: { ...meta, version: loaded.version } }, loaded.state, {
          version: loaded.version,
          views: { readModels: version.definition.readModels, readRow: (readModel, rowKey) => readViewRow(tx, version.boardId, readModel, rowKey) },
        });
        const chain = { correlationId: message.metadata.correlationId, causationId: message.messageId, occurredAt: now.toISOString() };

        switch (decision.kind) {
          case "accepted": {
            const events = decision.events.map((decided, index) => {
              const definition = version.index.eventsById.get(decided.event.id);
              if (!definition) throw new PermanentHandlerError(`${aggregate.name} emits ${decided.event.name}, which is not in the definition`);
              const problems = payloadViolations(definition.schema, decided.payload);
              if (problems.length > 0) throw new PermanentHandlerError(`${aggregate.name} emitted ${definition.name} not matching its schema: ${problems.join("; ")}`);
              return { definition, payload: decided.payload, messageId: derivedId(message.messageId, "event", String(index)), context: aggregate.context };
            });
            const result = await recordDomainEvents(tx, log, version, streamId, events, chain, { expectedVersion: loaded.version, now });
            const ack = commandOutcomeMessage(version, message, "handled", null, now, derivedId(message.messageId, "outcome"));
            if (ack) await enqueueLogged(tx, log, [ack], now);
            const outcome: CommandOutcomeRecord = {
              kind: "accepted",
              streamId,
              events: events.map((event, index) => ({ type: event.definition.name, messageId: event.messageId, position: result.positions[index]! })),
            };
            recordInbox(tx, consumer, message.messageId, now, outcome);
            if (log.queuedForAnyWorker) notifyWorkers(tx, rt.sql);
            return { outcome: "accepted", reason: null, events: events.map((event) => event.definition.name), log, next: log.next };
          }
          case "rejected": {
            const rejection: NewEvent = {
              type: "$CommandRejected",
              data: { command: command.name, commandMessageId: message.messageId, aggregate: aggregate.name, aggregateStreamId: streamId, aggregateVersion: loaded.version, code: decision.code, reason: decision.reason, ruleId: decision.ruleId, payload: message.payload },
              metadata: eventMetadata(version, { messageId: derivedId(message.messageId, "rejected"), correlationId: chain.correlationId, causationId: chain.causationId, context: aggregate.context }),
            };
            const rejectionStream = rejectionStreamId(streamId);
            log.appendedEvents(version, rejectionStream, [rejection], await appendToStream(tx, rejectionStream, [rejection], { now }));
            const failure = commandOutcomeMessage(version, message, "rejected", decision.reason, now, derivedId(message.messageId, "outcome"));
            if (failure) await enqueueLogged(tx, log, [failure], now);
            const outcome: CommandOutcomeRecord = { kind: "rejected", code: decision.code, reason: decision.reason, streamId };
            recordInbox(tx, consumer, message.messageId, now, outcome);
            if (log.queuedForAnyWorker) notifyWorkers(tx, rt.sql);
            return { outcome: "rejected", reason: decision.reason, events: [], log, next: log.next };
          }
          default: {
            const unknownDecision: never = decision;
            throw new Error(`unknown decision ${JSON.stringify(unknownDecision)}`);
          }
        }
      });
    } catch (error) {
      if ((error instanceof ConcurrencyError || error instanceof AppendRaceError || error instanceof InboxRaceError) && attempt < MAX_CONFLICT_RETRIES) continue;
      throw error;
    }
  }
}
