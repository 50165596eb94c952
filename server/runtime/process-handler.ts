import { randomUUID } from "node:crypto";
/**
 * Handles a delivery to a process instance (an event, a fired timer, the outcome of a command it
 * sent): deduplicate by message id, rebuild the instance from its stream, decide, and append the
 * decision's records to that stream together with the commands and timers it asks for and the
 * instance's row, in one transaction. The stream is the instance's inbox and outbox: replaying
 * it after a crash gives the same state.
 */
import { coalesce, writeCoalesced } from "../db/shared-transactions.ts";
import type { SqlQueryable, SqlTransaction } from "../db/sql.ts";
import { AppendRaceError, ConcurrencyError, NotFoundError, readStream, type NewEvent } from "../eventstore/index.ts";
import { derivedId } from "./core/ids.ts";
import {
  decideProcess,
  evolveProcess,
  initialProcessState,
  type ActiveTimer,
  type ProcessInput,
  type ProcessRecord,
  type ProcessState,
} from "./core/process.ts";
import { notifyWorkers, type RuntimeContext } from "./context.ts";
import { LostClaimError, PermanentHandlerError } from "./errors.ts";
import { MAX_CONFLICT_RETRIES, type HandleResult, type HandlerOptions } from "./aggregate-handler.ts";
import type { InstanceRow } from "./instances.ts";
import type { NewOutboxMessage, OutboxMessage } from "./outbox.ts";
import { appendAndEnqueue, CommitLog, eventMetadata } from "./recording.ts";
import { commandMessage } from "./routing.ts";
import type { LoadedVersion } from "./versions.ts";

const INSTANCE_READ_LIMIT = 1000;

/** Instances are short streams (a few records per step): folded from the start, no snapshot lookup. */
export function loadInstance(db: SqlQueryable, instanceId: string): Promise<{ state: ProcessState; version: number }> {
  return foldInstance(db, instanceId, initialProcessState(), 0);
}

/** Folds the instance's records after `version` into `state`. */
async function foldInstance(db: SqlQueryable, instanceId: string, state: ProcessState, version: number): Promise<{ state: ProcessState; version: number }> {
  for (;;) {
    let slice;
    try {
      slice = await readStream(db, instanceId, { fromVersion: version + 1, limit: INSTANCE_READ_LIMIT });
    } catch (error) {
      if (error instanceof NotFoundError) break;
      throw error;
    }
    for (const event of slice.events) {
      state = evolveProcess(state, { type: event.type, data: event.data } as ProcessRecord);
      version = event.streamVersion;
    }
    if (slice.events.length < INSTANCE_READ_LIMIT) break;
  }
  return { state, version };
}

/**
 * The first statement of a delivery: takes the outbox row (when the delivery holds a claim),
 * notes the message in the instance's inbox, and reads the instance's records, in one round trip
 * (in a shared transaction, one statement for the deliveries of the group).
 * The records come from the statement's snapshot; the append that follows expects the version
 * they end at, so a record committed in between makes it conflict and the delivery retry.
 */
async function claimAndLoadInstance(
  tx: SqlQueryable,
  claim: { outboxId: number; token: string } | null,
  instanceId: string,
  messageId: string,
  now: Date,
): Promise<{ claimed: boolean; fresh: boolean; state: ProcessState; version: number }> {
  const loaded = await coalesce(tx, "process.claim-and-load", { claim, instanceId, messageId, now }, (deliveries: Delivery[]) => claimAndReadDeliveries(tx, deliveries));
  const { claimed, fresh, rows } = loaded;
  let state = initialProcessState();
  let version = 0;
  if (!claimed || !fresh) return { claimed, fresh, state, version };
  for (const row of rows) {
    state = evolveProcess(state, { type: row.type, data: row.data } as ProcessRecord);
    version = row.stream_version;
  }
  if (rows.length < INSTANCE_READ_LIMIT) return { claimed, fresh, state, version };
  return { claimed, fresh, ...(await foldInstance(tx, instanceId, state, version)) };
}

interface Delivery {
  claim: { outboxId: number; token: string } | null;
  instanceId: string;
  messageId: string;
  now: Date;
}

interface ClaimedDelivery {
  claimed: boolean;
  fresh: boolean;
  rows: { stream_version: number; type: string; data: unknown }[];
}

async function claimAndReadDeliveries(tx: SqlQueryable, deliveries: readonly Delivery[]): Promise<ClaimedDelivery[]> {
  // One message delivered twice in the same statement would count as fresh twice (the inbox insert
  // reports by row, not by delivery): such groups go one statement per delivery.
  const keys = new Set(deliveries.map((delivery) => `${delivery.instanceId}\u0000${delivery.messageId}`));
  if (keys.size < deliveries.length) {
    const results: ClaimedDelivery[] = [];
    for (const delivery of deliveries) results.push(...(await claimAndReadDeliveries(tx, [delivery])));
    return results;
  }
  // The outbox rows are taken by key (id = ANY): as a plain join the planner may hash the whole outbox.
  const { rows } = await tx.query<{ ord: number; taken: boolean; fresh: boolean; stream_version: number | null; type: string | null; data: unknown }>(
    `WITH input AS (
       SELECT * FROM ROWS FROM (unnest($1::boolean[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::timestamptz[]))
         WITH ORDINALITY AS i(has_claim, outbox_id, token, instance_id, message_id, now, ord)
     ), taken AS (
       DELETE FROM runtime_outbox o USING input i WHERE o.id = ANY($2::bigint[]) AND i.has_claim AND o.id = i.outbox_id AND o.claim_token = i.token RETURNING i.ord
     ), fresh AS (
       INSERT INTO runtime_inbox (consumer, message_id, handled_at)
       SELECT i.instance_id, i.message_id, i.now FROM input i WHERE NOT i.has_claim OR i.ord IN (SELECT ord FROM taken)
       ON CONFLICT (consumer, message_id) DO NOTHING RETURNING consumer, message_id
     )
     SELECT i.ord, i.ord IN (SELECT ord FROM taken) AS taken,
       EXISTS (SELECT 1 FROM fresh f WHERE f.consumer = i.instance_id AND f.message_id = i.message_id) AS fresh,
       e.stream_version, e.type, e.data
     FROM input i
     LEFT JOIN LATERAL (SELECT x.stream_version, x.type, x.data FROM events x WHERE x.stream_id = i.instance_id ORDER BY x.stream_version LIMIT $7) e ON true
     ORDER BY i.ord, e.stream_version`,
    [
      deliveries.map((delivery) => delivery.claim !== null),
      deliveries.map((delivery) => delivery.claim?.outboxId ?? 0),
      deliveries.map((delivery) => delivery.claim?.token ?? ""),
      deliveries.map((delivery) => delivery.instanceId),
      deliveries.map((delivery) => delivery.messageId),
      deliveries.map((delivery) => delivery.now),
      INSTANCE_READ_LIMIT,
    ],
  );
  const results: ClaimedDelivery[] = deliveries.map(() => ({ claimed: false, fresh: false, rows: [] }));
  for (const row of rows) {
    const result = results[row.ord - 1]!;
    result.claimed = deliveries[row.ord - 1]!.claim === null || row.taken;
    result.fresh = row.fresh;
    if (row.stream_version !== null) result.rows.push({ stream_version: row.stream_version, type: row.type!, data: row.data });
  }
  return results;
}

function inputOf(message: OutboxMessage): ProcessInput {
  const delivery = message.metadata.delivery;
  if (!delivery) throw new PermanentHandlerError(`delivery ${message.messageId} to ${message.targetId} says nothing about what it carries`);
  switch (delivery.input) {
    case "event":
      return { kind: "event", messageId: message.messageId, event: delivery.event, payload: message.payload, meta: delivery.meta };
    case "timer-fired":
      return { kind: "timer-fired", messageId: message.messageId, timerId: delivery.timerId };
    case "command-outcome":
      return { kind: "command-outcome", messageId: message.messageId, commandMessageId: delivery.commandMessageId, outcome: delivery.outcome, reason: delivery.reason };
    default: {
      const unknownDelivery: never = delivery;
      throw new PermanentHandlerError(`unknown delivery ${JSON.stringify(unknownDelivery)}`);
    }
  }
}

export async function handleProcessDelivery(rt: RuntimeContext, message: OutboxMessage, claimToken: string | null, options: HandlerOptions = {}): Promise<HandleResult> {
  if (message.metadata.routingError) throw new PermanentHandlerError(message.metadata.routingError);
  const version = await rt.versions.get(message.versionId);
  const process = version.index.processesById.get(message.targetId);
  const instanceId = message.instanceId;
  const correlationKey = message.metadata.correlationKey;
  if (!process || !instanceId || correlationKey === undefined) throw new PermanentHandlerError(`delivery ${message.messageId}: process ${message.targetId} or its instance is unknown`);
  const input = inputOf(message);

  for (let attempt = 1; ; attempt += 1) {
    try {
      return await rt.shared.handlings.transaction(async (tx) => {
        const now = rt.clock.now();
        const log = new CommitLog(now);
        if (claimToken !== null && options.handoffLeaseMs) log.handoff = { token: randomUUID(), leaseUntil: new Date(now.getTime() + options.handoffLeaseMs) };
        const loaded = await claimAndLoadInstance(tx, claimToken === null ? null : { outboxId: message.id, token: claimToken }, instanceId, message.messageId, now);
        if (!loaded.claimed) throw new LostClaimError(message.id);
        if (!loaded.fresh) return { outcome: "duplicate", reason: null, events: [], log, next: log.next };
        await rt.hooks.onEffect?.(tx, message);

        const decision = await decideProcess({ process, index: version.index, instanceId, correlationKey }, input, loaded.state, now);
        if (decision.records.length === 0) return { outcome: "ignored", reason: null, events: [], log, next: log.next };

        const state = decision.records.reduce(evolveProcess, loaded.state);
        const correlationId = state.correlationId ?? message.metadata.correlationId;
        const records: NewEvent[] = decision.records.map((record, index) => ({
          type: record.type,
          data: record.data,
          metadata: eventMetadata(version, {
            messageId: derivedId(instanceId, message.messageId, String(index)),
            correlationId,
            causationId: message.messageId,
            context: process.context,
            instanceId,
          }),
        }));
        const outgoing: NewOutboxMessage[] = [];
        for (const issued of decision.commands) {
          const definition = version.index.commandsById.get(issued.command.id);
          if (!definition) throw new PermanentHandlerError(`${process.name} sends ${issued.command.name}, which is not in the definition`);
          outgoing.push(
            await commandMessage(version, {
              definition,
              payload: issued.payload,
              messageId: issued.messageId,
              correlationId,
              causationId: issued.causationId,
              occurredAt: now.toISOString(),
              dispatch: { handler: issued.handler, context: issued.context },
              replyTo: { instanceId, processId: process.id, correlationKey, ack: issued.purpose === "compensation" ? "always" : "failure", purpose: issued.purpose, stepId: issued.stepId },
              retry: issued.retry,
            }),
          );
        }
        const appended = await appendAndEnqueue(tx, log, version, instanceId, records, outgoing, { expectedVersion: loaded.version, now });
        saveInstanceRow(tx, version, process.id, process.completion.length > 0 ? process.stuckAfterMs : null, instanceId, correlationKey, state, appended.nextExpectedVersion, now);
        scheduleTimers(tx, version, process.id, process.context?.id ?? null, instanceId, correlationKey, correlationId, decision.timersToSet, now);
        if (decision.timersToCancel.length > 0) {
          tx.write(`UPDATE runtime_timers SET status = 'cancelled', settled_at = $2 WHERE id = ANY($1::text[]) AND status = 'scheduled'`, [decision.timersToCancel, now]);
        }
        if (log.queuedForAnyWorker) notifyWorkers(tx, rt.sql);

        for (const timer of decision.timersToSet) {
          log.inspection.push({ kind: "timer.set", at: log.at, boardId: version.boardId, instanceId, timerId: timer.timerId, timerKind: timer.kind, stepId: timer.stepId, fireAt: timer.fireAt });
        }
        for (const record of decision.records) {
          if (record.type === "$TimerCancelled") {
            log.inspection.push({ kind: "timer.cancelled", at: log.at, boardId: version.boardId, instanceId, timerId: record.data.timerId, reason: record.data.reason });
          }
          if (record.type === "$StatusChanged") {
            log.inspection.push({
              kind: "instance.status-changed",
              at: log.at,
              boardId: version.boardId,
              versionId: version.id,
              instanceId,
              processId: process.id,
              correlationKey,
              correlationId,
              from: record.data.from,
              to: record.data.to,
              reason: record.data.reason,
            });
          }
        }
        return { outcome: "accepted", reason: null, events: decision.records.map((record) => record.type), log, next: log.next };
      });
    } catch (error) {
      if ((error instanceof ConcurrencyError || error instanceof AppendRaceError) && attempt < MAX_CONFLICT_RETRIES) continue;
      throw error;
    }
  }
}

/** A row of runtime_instances as a delivery writes it: `now` is its update and its last activity. */
type InstanceRowWrite = Omit<InstanceRow, "started_at" | "updated_at" | "last_activity_at"> & { started_at: string; now: Date; stream_version: number };

/** Sent without waiting (nothing in the transaction reads it back); in a shared transaction, one statement for the group. */
function saveInstanceRow(
  tx: SqlTransaction,
  version: LoadedVersion,
  processId: string,
  /** Null for a standing process: with no completion event it waits for events by design. */
  stuckAfterMs: number | null,
  instanceId: string,
  correlationKey: string,
  state: ProcessState,
  streamVersion: number,
  now: Date,
): void {
  if (state.status === "idle") return;
  const row: InstanceRowWrite = {
    id: instanceId,
    board_id: version.boardId,
    version_id: version.id,
    process_id: processId,
    correlation_key: correlationKey,
    correlation_id: state.correlationId ?? instanceId,
    status: state.status,
    reason: state.reason,
    started_at: state.startedAt ?? now.toISOString(),
    now,
    stuck_after_ms: stuckAfterMs,
    stream_version: streamVersion,
  };
  writeCoalesced(tx, "runtime_instances.upsert", row, (db, rows) =>
    db.write(
      `INSERT INTO runtime_instances (id, board_id, version_id, process_id, correlation_key, correlation_id, status, reason, started_at, updated_at, last_activity_at, stuck_after_ms, stream_version)
       SELECT r.id, r.board_id, r.version_id, r.process_id, r.correlation_key, r.correlation_id, r.status, r.reason, r.started_at, r.now, r.now, r.stuck_after_ms, r.stream_version
       FROM jsonb_to_recordset($1::text::jsonb) AS r(id text, board_id text, version_id text, process_id text, correlation_key text, correlation_id text, status text, reason text,
         started_at timestamptz, now timestamptz, stuck_after_ms integer, stream_version bigint)
       ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status, reason = EXCLUDED.reason, updated_at = EXCLUDED.updated_at,
         last_activity_at = EXCLUDED.last_activity_at, stream_version = EXCLUDED.stream_version`,
      [JSON.stringify(rows)],
    ),
  );
}

function scheduleTimers(
  tx: SqlTransaction,
  version: LoadedVersion,
  processId: string,
  contextId: string | null,
  instanceId: string,
  correlationKey: string,
  correlationId: string,
  timers: readonly ActiveTimer[],
  now: Date,
): void {
  if (timers.length === 0) return;
  const rows = timers.map((timer) => ({
    id: timer.timerId,
    kind: timer.kind,
    step_id: timer.stepId,
    timer_element_id: timer.timer?.id ?? null,
    fire_at: timer.fireAt,
    metadata: { correlationKey, correlationId, trigger: timer.trigger.event, timer: timer.timer },
  }));
  tx.write(
    `INSERT INTO runtime_timers (id, board_id, version_id, process_id, instance_id, context_id, kind, step_id, timer_element_id, fire_at, metadata, created_at)
     SELECT r.id, $2, $3, $4, $5, $6, r.kind, r.step_id, r.timer_element_id, r.fire_at, r.metadata, $7
     FROM jsonb_to_recordset($1::text::jsonb) AS r(id text, kind text, step_id text, timer_element_id text, fire_at timestamptz, metadata jsonb)
     ON CONFLICT (id) DO NOTHING`,
    [JSON.stringify(rows), version.boardId, version.id, processId, instanceId, contextId, now],
  );
}
