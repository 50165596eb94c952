import { randomUUID } from "node:crypto";
/**
 * Handles a command addressed to an aggregate: deduplicate by message id, load the aggregate
 * (snapshot + later events), decide, append the events with the version it was loaded at, route
 * them, all in one transaction. A conflicting concurrent append is retried from the load a few
 * times; a rejection is stored as a `$CommandRejected` record (with its reason) and reported back
 * to the process instance that sent the command.
 */
import { createHash } from "node:crypto";
import { coalesce } from "../db/shared-transactions.ts";
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
import { CommitLog, enqueueLogged, eventMetadata, InboxRaceError, recordDomainEvents, recordInbox } from "./recording.ts";
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

/** What a command's first statement finds: its claim, whether its inbox saw it, and the aggregate's snapshot and first page of events. */
interface CommandStart {
  claimed: boolean;
  seen: boolean;
  snapshot: { version: number; state: AggregateState } | null;
  events: StoredAggregateEvent[];
}

interface StoredAggregateEvent {
  streamVersion: number;
  type: string;
  data: unknown;
  elementId: string | null;
}

interface CommandStartInput {
  claim: { outboxId: number; token: string } | null;
  consumer: string;
  messageId: string;
  streamId: string;
  /** Null when the aggregate keeps no snapshots. */
  snapshotName: string | null;
}

/**
 * The first statement of a command: takes the outbox row (when the handling holds a claim), looks
 * the message up in the aggregate's inbox, and reads the aggregate's snapshot and the first page of
 * events after it, in one round trip (in a shared transaction, one statement for the group). The
 * handler notes the message in the inbox at the end, with its outcome (recordInbox).
 */
function takeCheckAndLoad(tx: SqlQueryable, input: CommandStartInput): Promise<CommandStart> {
  return coalesce(tx, "aggregate.take-check-and-load", input, async (inputs: CommandStartInput[]) => {
    // Every lookup is by key (id = ANY, LATERAL ... LIMIT 1): as a plain join or EXISTS, the planner
    // may hash the whole inbox, outbox or snapshots table for each statement, and they only grow.
    const { rows } = await tx.query<{
      ord: number;
      taken: boolean;
      seen: boolean;
      snapshot_version: number | null;
      snapshot_state: AggregateState | null;
      stream_version: number | null;
      type: string | null;
      data: unknown;
      element_id: string | null;
    }>(
      `WITH input AS (
         SELECT * FROM ROWS FROM (unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[]))
           WITH ORDINALITY AS i(outbox_id, token, consumer, message_id, stream_id, snapshot_name, ord)
       ), taken AS (
         DELETE FROM runtime_outbox o USING input i WHERE o.id = ANY($1::bigint[]) AND o.id = i.outbox_id AND o.claim_token = i.token RETURNING i.ord
       )
       SELECT i.ord, i.ord IN (SELECT ord FROM taken) AS taken, b.seen IS NOT NULL AS seen,
         s.version AS snapshot_version, s.state AS snapshot_state, e.stream_version, e.type, e.data, e.element_id
       FROM input i
       LEFT JOIN LATERAL (SELECT true AS seen FROM runtime_inbox b WHERE b.consumer = i.consumer AND b.message_id = i.message_id LIMIT 1) b ON true
       LEFT JOIN LATERAL (SELECT s.version, s.state FROM snapshots s WHERE s.stream_id = i.stream_id AND s.name = i.snapshot_name LIMIT 1) s ON true
       LEFT JOIN LATERAL (
         SELECT x.stream_version, x.type, x.data, x.metadata->>'elementId' AS element_id FROM events x
         WHERE x.stream_id = i.stream_id AND x.stream_version > coalesce(s.version, 0) ORDER BY x.stream_version LIMIT $7
       ) e ON true
       ORDER BY i.ord, e.stream_version`,
      [
        inputs.map((one) => one.claim?.outboxId ?? 0),
        inputs.map((one) => one.claim?.token ?? ""),
        inputs.map((one) => one.consumer),
        inputs.map((one) => one.messageId),
        inputs.map((one) => one.streamId),
        inputs.map((one) => one.snapshotName),
        PAGE,
      ],
    );
    const starts: CommandStart[] = inputs.map(() => ({ claimed: false, seen: false, snapshot: null, events: [] }));
    for (const row of rows) {
      const start = starts[row.ord - 1]!;
      start.claimed = inputs[row.ord - 1]!.claim === null || row.taken;
      start.seen = row.seen;
      if (row.snapshot_version !== null) start.snapshot = { version: row.snapshot_version, state: row.snapshot_state! };
      if (row.stream_version !== null) start.events.push({ streamVersion: row.stream_version, type: row.type!, data: row.data, elementId: row.element_id });
    }
    return starts;
  });
}

/** Folds the aggregate from what takeCheckAndLoad read, reading further pages if there are more; saves a snapshot when one is due. */
async function foldAggregate(
  tx: SqlQueryable,
  version: LoadedVersion,
  aggregate: AggregateDefinition,
  streamId: string,
  start: CommandStart,
): Promise<{ state: AggregateState; version: number }> {
  const { decider, snapshotName } = deciderFor(aggregate);
  let state = start.snapshot?.state ?? decider.initialState();
  const snapshotVersion = start.snapshot?.version ?? 0;
  let current = snapshotVersion;
  let page: StoredAggregateEvent[] = start.events;
  for (;;) {
    for (const event of page) {
      const elementId = event.elementId ?? version.index.eventsByName.get(event.type)?.id ?? event.type;
      state = await decider.evolve(state, { event: { id: elementId, name: event.type }, payload: event.data as Record<string, unknown> });
      current = event.streamVersion;
    }
    if (page.length < PAGE) break;
    const slice = await readStream(tx, streamId, { fromVersion: current + 1, limit: PAGE });
    page = slice.events.map((event) => ({
      streamVersion: event.streamVersion,
      type: event.type,
      data: event.data,
      elementId: typeof event.metadata.elementId === "string" ? event.metadata.elementId : null,
    }));
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
  const { decider, snapshotName } = deciderFor(aggregate);
  const consumer = `aggregate:${version.boardId}:${aggregate.id}`;

  for (let attempt = 1; ; attempt += 1) {
    try {
      return await rt.shared.handlings.transaction(async (tx) => {
        const now = rt.clock.now();
        const log = new CommitLog(now);
        if (claimToken !== null && options.handoffLeaseMs) log.handoff = { token: randomUUID(), leaseUntil: new Date(now.getTime() + options.handoffLeaseMs) };
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
        const start = await takeCheckAndLoad(tx, {
          claim: claimToken === null ? null : { outboxId: message.id, token: claimToken },
          consumer,
          messageId: message.messageId,
          streamId,
          snapshotName: aggregate.snapshotEvery > 0 ? snapshotName : null,
        });
        if (!start.claimed) throw new LostClaimError(message.id);
        if (start.seen) return { outcome: "duplicate", reason: null, events: [], log, next: log.next };
        await rt.hooks.onEffect?.(tx, message);
        const loaded = await foldAggregate(tx, version, aggregate, streamId, start);
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
