/** Process instances as the API shows them: listed and filtered from their rows, inspected from their streams. */
import type { SqlQueryable } from "../db/sql.ts";
import { NotFoundError, readStream } from "../eventstore/index.ts";
import type { InstanceStatus, ProcessState, ProcessStatus } from "./core/process.ts";
import { RuntimeNotFoundError } from "./errors.ts";
import { loadInstance } from "./process-handler.ts";
import { listOutbox, type OutboxMessage } from "./outbox.ts";
import { timersOfInstance, type TimerView } from "./timers.ts";

export interface InstanceSummary {
  id: string;
  boardId: string;
  versionId: string;
  processId: string;
  correlationKey: string;
  correlationId: string;
  /** `stuck` when running or compensating and idle for longer than stuckAfterMs (never when that is null). */
  status: InstanceStatus;
  storedStatus: ProcessStatus;
  reason: string | null;
  startedAt: Date;
  updatedAt: Date;
  lastActivityAt: Date;
  /** Null for a standing process (no completion event), which is never stuck. */
  stuckAfterMs: number | null;
}

/** A row of runtime_instances as read back. */
export interface InstanceRow {
  id: string;
  board_id: string;
  version_id: string;
  process_id: string;
  correlation_key: string;
  correlation_id: string;
  status: ProcessStatus;
  reason: string | null;
  started_at: Date;
  updated_at: Date;
  last_activity_at: Date;
  stuck_after_ms: number | null;
}

function toSummary(row: InstanceRow, now: Date): InstanceSummary {
  const lastActivityAt = new Date(row.last_activity_at);
  const waiting = row.status === "running" || row.status === "compensating";
  return {
    id: row.id,
    boardId: row.board_id,
    versionId: row.version_id,
    processId: row.process_id,
    correlationKey: row.correlation_key,
    correlationId: row.correlation_id,
    status: waiting && row.stuck_after_ms !== null && now.getTime() - lastActivityAt.getTime() >= row.stuck_after_ms ? "stuck" : row.status,
    storedStatus: row.status,
    reason: row.reason,
    startedAt: new Date(row.started_at),
    updatedAt: new Date(row.updated_at),
    lastActivityAt,
    stuckAfterMs: row.stuck_after_ms,
  };
}

export interface InstanceFilter {
  boardId?: string;
  versionId?: string;
  processId?: string;
  status?: InstanceStatus;
  correlationKey?: string;
  correlationId?: string;
  /** From a previous page's nextCursor. */
  cursor?: string;
  limit: number;
}

export interface InstancePage {
  instances: InstanceSummary[];
  nextCursor: string | null;
}

const STUCK = `(status IN ('running', 'compensating') AND stuck_after_ms IS NOT NULL AND last_activity_at + stuck_after_ms * interval '1 millisecond' <= $8)`;

/** Newest first, keyset-paged on (started_at, id). */
export async function listInstances(db: SqlQueryable, filter: InstanceFilter, now: Date): Promise<InstancePage> {
  let cursorAt: Date | null = null;
  let cursorId: string | null = null;
  if (filter.cursor) {
    const separator = filter.cursor.indexOf("|");
    cursorAt = new Date(filter.cursor.slice(0, separator));
    cursorId = filter.cursor.slice(separator + 1);
  }
  const status = filter.status ?? null;
  const { rows } = await db.query<InstanceRow>(
    `SELECT id, board_id, version_id, process_id, correlation_key, correlation_id, status, reason, started_at, updated_at, last_activity_at, stuck_after_ms
     FROM runtime_instances
     WHERE ($1::text IS NULL OR board_id = $1) AND ($2::text IS NULL OR version_id = $2) AND ($3::text IS NULL OR process_id = $3)
       AND ($4::text IS NULL OR correlation_key = $4) AND ($5::text IS NULL OR correlation_id = $5)
       AND ($6::timestamptz IS NULL OR (started_at, id) < ($6::timestamptz, $7::text))
       AND ($9::text IS NULL
         OR ($9 = 'stuck' AND ${STUCK})
         OR ($9 IN ('running', 'compensating') AND status = $9 AND NOT ${STUCK})
         OR ($9 NOT IN ('stuck', 'running', 'compensating') AND status = $9))
     ORDER BY started_at DESC, id DESC
     LIMIT $10`,
    [filter.boardId ?? null, filter.versionId ?? null, filter.processId ?? null, filter.correlationKey ?? null, filter.correlationId ?? null, cursorAt, cursorId, now, status, filter.limit + 1],
  );
  const instances = rows.slice(0, filter.limit).map((row) => toSummary(row, now));
  const last = instances[instances.length - 1];
  return { instances, nextCursor: rows.length > filter.limit && last ? `${last.startedAt.toISOString()}|${last.id}` : null };
}

export interface InstanceRecord {
  position: number;
  version: number;
  type: string;
  data: unknown;
  recordedAt: string;
  messageId: string;
}

export interface InstanceDetail {
  instance: InstanceSummary;
  state: ProcessState;
  /** The instance's own stream: what it received, sent, scheduled and became. */
  history: InstanceRecord[];
  /** Outbox rows for or from the instance not yet handled (including parked ones). */
  pending: OutboxMessage[];
  timers: TimerView[];
}

export async function getInstance(db: SqlQueryable, instanceId: string, now: Date): Promise<InstanceDetail> {
  const { rows } = await db.query<InstanceRow>(
    `SELECT id, board_id, version_id, process_id, correlation_key, correlation_id, status, reason, started_at, updated_at, last_activity_at, stuck_after_ms
     FROM runtime_instances WHERE id = $1`,
    [instanceId],
  );
  if (!rows[0]) throw new RuntimeNotFoundError("Instance", instanceId);
  const history: InstanceRecord[] = [];
  for (let from = 1; ; ) {
    let slice;
    try {
      slice = await readStream(db, instanceId, { fromVersion: from, limit: 1000 });
    } catch (error) {
      if (error instanceof NotFoundError) break;
      throw error;
    }
    for (const event of slice.events) {
      history.push({ position: event.position, version: event.streamVersion, type: event.type, data: event.data, recordedAt: event.metadata.recordedAt, messageId: event.metadata.messageId });
    }
    if (slice.events.length < 1000) break;
    from = slice.events[slice.events.length - 1]!.streamVersion + 1;
  }
  const [{ state }, pending, timers] = await Promise.all([loadInstance(db, instanceId), listOutbox(db, { instanceId, limit: 500 }), timersOfInstance(db, instanceId)]);
  return { instance: toSummary(rows[0], now), state, history, pending: pending.messages, timers };
}
