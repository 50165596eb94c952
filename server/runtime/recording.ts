/**
 * Shared by the handlers: stored-event metadata, appending domain events and routing them in the
 * caller's transaction, the inbox check, and the list of notifications to send after commit.
 */
import { writeCoalesced } from "../db/shared-transactions.ts";
import type { SqlQueryable, SqlTransaction } from "../db/sql.ts";
import type { ElementRef, EventDefinition } from "../definition/v1.ts";
import { appendToStream, isUniqueViolation, type AppendResult, type NewEvent } from "../eventstore/index.ts";
import type { MessageMeta, Payload } from "./core/types.ts";
import type { Committed } from "./context.ts";
import type { InspectionEvent } from "./inspection.ts";
import { enqueue, messageRef, unqueue, type Enqueued, type Handoff, type NewOutboxMessage, type OutboxMessage } from "./outbox.ts";
import { routeEvent } from "./routing.ts";
import type { LoadedVersion } from "./versions.ts";

/** What every event the runtime stores says about itself, beyond the event store's own fields. */
export interface RuntimeEventMetadata {
  messageId: string;
  correlationId: string;
  causationId: string;
  definitionId: string;
  definitionVersion: number;
  versionId: string;
  /** The bounded context's name (the event store's context streams are by name). */
  context?: string;
  contextId?: string;
  /** The definition element the event is (absent for the runtime's own records). */
  elementId?: string;
  instanceId?: string;
  [key: string]: unknown;
}

export function eventMetadata(
  version: LoadedVersion,
  fields: { messageId: string; correlationId: string; causationId: string; context?: ElementRef | null; elementId?: string; instanceId?: string },
): RuntimeEventMetadata {
  return {
    messageId: fields.messageId,
    correlationId: fields.correlationId,
    causationId: fields.causationId,
    definitionId: version.boardId,
    definitionVersion: version.version,
    versionId: version.id,
    ...(fields.context ? { context: fields.context.name, contextId: fields.context.id } : {}),
    ...(fields.elementId ? { elementId: fields.elementId } : {}),
    ...(fields.instanceId ? { instanceId: fields.instanceId } : {}),
  };
}

/** Collects what a transaction did, to announce once it committed. */
export class CommitLog implements Committed {
  inspection: InspectionEvent[] = [];
  enqueued = false;
  appended = false;
  /** The first message this transaction queues is claimed for the worker that ran it. */
  handoff: Handoff | null = null;
  /** That message, once queued and claimed: the worker handles it next. */
  next: OutboxMessage | null = null;
  queuedForAnyWorker = false;

  constructor(private readonly now: Date) {}

  get at(): string {
    return this.now.toISOString();
  }

  appendedEvents(version: LoadedVersion, streamId: string, events: readonly NewEvent[], result: AppendResult): void {
    if (result.duplicate) return;
    this.appended = true;
    events.forEach((event, index) => {
      const metadata = event.metadata as RuntimeEventMetadata;
      this.inspection.push({
        kind: "message.appended",
        at: this.at,
        boardId: version.boardId,
        versionId: version.id,
        streamId,
        position: result.positions[index]!,
        messageId: metadata.messageId,
        type: event.type,
        correlationId: metadata.correlationId,
        causationId: metadata.causationId,
        context: metadata.context ?? null,
      });
    });
  }

  queued(messages: readonly NewOutboxMessage[], ids: readonly number[]): void {
    if (messages.length === 0) return;
    this.enqueued = true;
    messages.forEach((message, index) => this.inspection.push({ kind: "message.queued", at: this.at, ...messageRef({ ...message, id: ids[index]! }) }));
  }
}

export async function enqueueLogged(tx: SqlQueryable, log: CommitLog, messages: readonly NewOutboxMessage[], now: Date): Promise<void> {
  recordQueued(log, messages, await sendEnqueue(tx, log, messages, now));
}

function sendEnqueue(tx: SqlQueryable, log: CommitLog, messages: readonly NewOutboxMessage[], now: Date): Promise<Enqueued | null> {
  if (messages.length === 0) return Promise.resolve(null);
  const handoff = log.next === null ? (log.handoff ?? undefined) : undefined;
  return enqueue(tx, messages, now, handoff);
}

function recordQueued(log: CommitLog, messages: readonly NewOutboxMessage[], enqueued: Enqueued | null): void {
  if (!enqueued) return;
  const { ids, handedOff } = enqueued;
  log.queued(messages, ids);
  if (ids.length > (handedOff ? 1 : 0)) log.queuedForAnyWorker = true;
  if (handedOff) {
    log.next = handedOff;
    log.handoff = null;
  }
}

/**
 * Appends `events` and queues `messages` behind them in the same write, so the queue costs no
 * round trip of its own, and notes both in the log. A duplicate append (all message ids already
 * stored) takes the messages back.
 */
export async function appendAndEnqueue(
  tx: SqlQueryable,
  log: CommitLog,
  version: LoadedVersion,
  streamId: string,
  events: readonly NewEvent[],
  messages: readonly NewOutboxMessage[],
  options: { expectedVersion: number | "no_stream"; now: Date },
): Promise<AppendResult> {
  const appending = appendToStream(tx, streamId, events, options);
  const enqueuing = sendEnqueue(tx, log, messages, options.now);
  // When the append fails, the enqueue fails with it (or is rolled back): the append's error is the one that counts.
  enqueuing.catch(() => {});
  const result = await appending;
  log.appendedEvents(version, streamId, events, result);
  const enqueued = await enqueuing;
  if (result.duplicate) {
    if (enqueued) await unqueue(tx, enqueued.ids);
    return result;
  }
  recordQueued(log, messages, enqueued);
  return result;
}

export interface DomainEventToRecord {
  definition: EventDefinition;
  payload: Payload;
  messageId: string;
  context: ElementRef | null;
}

/**
 * Appends domain events to one stream and writes the deliveries they cause, in `tx`. The expected
 * version gives the events' stream versions before the append, so the deliveries go out with it.
 */
export async function recordDomainEvents(
  tx: SqlQueryable,
  log: CommitLog,
  version: LoadedVersion,
  streamId: string,
  events: readonly DomainEventToRecord[],
  chain: { correlationId: string; causationId: string; occurredAt: string },
  options: { expectedVersion: number | "no_stream"; now: Date },
): Promise<AppendResult> {
  const newEvents: NewEvent[] = events.map((event) => ({
    type: event.definition.name,
    data: event.payload,
    metadata: eventMetadata(version, {
      messageId: event.messageId,
      correlationId: chain.correlationId,
      causationId: chain.causationId,
      context: event.context ?? event.definition.context,
      elementId: event.definition.id,
    }),
  }));
  const versionBefore = options.expectedVersion === "no_stream" ? 0 : options.expectedVersion;
  const deliveries: NewOutboxMessage[] = [];
  for (const [index, event] of events.entries()) {
    const meta: MessageMeta = {
      messageId: event.messageId,
      messageName: event.definition.name,
      correlationId: chain.correlationId,
      causationId: chain.causationId,
      occurredAt: chain.occurredAt,
      version: versionBefore + index + 1,
    };
    deliveries.push(...(await routeEvent(version, { definition: event.definition, payload: event.payload, meta })));
  }
  return appendAndEnqueue(tx, log, version, streamId, newEvents, deliveries, options);
}

/**
 * The first statement of every handler: takes the outbox row (when the delivery holds a claim)
 * and notes the message in the consumer's inbox, in one round trip. `claimed` is false when the
 * claim was lost; `fresh` is false when the consumer handled the message before.
 */
export async function takeAndClaimInbox(
  tx: SqlQueryable,
  claim: { outboxId: number; token: string } | null,
  consumer: string,
  messageId: string,
  now: Date,
): Promise<{ claimed: boolean; fresh: boolean }> {
  if (claim === null) return { claimed: true, fresh: await claimInbox(tx, consumer, messageId, now) };
  const { rows } = await tx.query<{ taken: number; fresh: number }>(
    `WITH taken AS (DELETE FROM runtime_outbox WHERE id = $1 AND claim_token = $2 RETURNING 1),
       fresh AS (INSERT INTO runtime_inbox (consumer, message_id, handled_at) SELECT $3, $4, $5 WHERE EXISTS (SELECT 1 FROM taken)
         ON CONFLICT (consumer, message_id) DO NOTHING RETURNING 1)
     SELECT (SELECT count(*) FROM taken)::int AS taken, (SELECT count(*) FROM fresh)::int AS fresh`,
    [claim.outboxId, claim.token, consumer, messageId, now],
  );
  return { claimed: rows[0]!.taken === 1, fresh: rows[0]!.fresh === 1 };
}

/** Another delivery of the same message committed first (seen at the end of a handling): retry to find out. */
export class InboxRaceError extends Error {
  override name = "InboxRaceError";
}

/**
 * Notes the message as handled by `consumer`, with its outcome. Sent without waiting (it shares a
 * round trip with the commit); if the message is noted already, the transaction fails with InboxRaceError.
 */
export function recordInbox(tx: SqlTransaction, consumer: string, messageId: string, now: Date, outcome: unknown): void {
  writeCoalesced(tx, "runtime_inbox.insert", { consumer, message_id: messageId, handled_at: now, outcome }, (db, rows) =>
    db.write(
      `INSERT INTO runtime_inbox (consumer, message_id, handled_at, outcome)
       SELECT r.consumer, r.message_id, r.handled_at, r.outcome FROM jsonb_to_recordset($1::text::jsonb) AS r(consumer text, message_id text, handled_at timestamptz, outcome jsonb)`,
      [JSON.stringify(rows)],
      (error) => (isUniqueViolation(error) ? new InboxRaceError(`${rows.map((row) => `${row.consumer} handled ${row.message_id}`).join(", ")}: concurrently with another delivery`) : error),
    ),
  );
}

/** Marks the message handled by `consumer`; false when it was handled before (a duplicate delivery). */
export async function claimInbox(tx: SqlQueryable, consumer: string, messageId: string, now: Date): Promise<boolean> {
  const { rows } = await tx.query(
    `INSERT INTO runtime_inbox (consumer, message_id, handled_at) VALUES ($1, $2, $3) ON CONFLICT (consumer, message_id) DO NOTHING RETURNING 1 AS inserted`,
    [consumer, messageId, now],
  );
  return rows.length === 1;
}
