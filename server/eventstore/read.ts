import type { SqlQueryable } from "../db/sql.ts";
import { InvalidArgumentError, NotFoundError } from "./errors.ts";
import { validateStreamId } from "./append.ts";
import type { EventFilter, EventMetadata, LogReadOptions, LogSlice, RecordedEvent, StreamReadOptions, StreamSlice } from "./types.ts";

export const DEFAULT_READ_LIMIT = 500;
export const MAX_READ_LIMIT = 10_000;

export function validatePosition(position: unknown, argument = "position"): asserts position is number {
  if (typeof position !== "number" || !Number.isSafeInteger(position) || position < 0) {
    throw new InvalidArgumentError(argument, position, "must be a non-negative integer");
  }
}

export function validateLimit(limit: unknown, max = MAX_READ_LIMIT): asserts limit is number {
  if (typeof limit !== "number" || !Number.isSafeInteger(limit) || limit < 1 || limit > max) {
    throw new InvalidArgumentError("limit", limit, `must be an integer from 1 to ${max}`);
  }
}

function validateVersion(version: unknown): asserts version is number {
  if (typeof version !== "number" || !Number.isSafeInteger(version) || version < 1) {
    throw new InvalidArgumentError("stream version", version, "must be a positive integer");
  }
}

export interface EventRow {
  position: number;
  stream_id: string;
  stream_version: number;
  type: string;
  data: unknown;
  metadata: EventMetadata;
}

export const EVENT_COLUMNS = `e.position, e.stream_id, e.stream_version, e.type, e.data, e.metadata`;

export function toRecordedEvent(row: EventRow): RecordedEvent {
  return {
    position: row.position,
    streamId: row.stream_id,
    streamVersion: row.stream_version,
    type: row.type,
    data: row.data,
    metadata: row.metadata,
  };
}

export async function readStream(db: SqlQueryable, streamId: string, options: StreamReadOptions = {}): Promise<StreamSlice> {
  validateStreamId(streamId);
  const direction = options.direction ?? "forward";
  if (direction !== "forward" && direction !== "backward") {
    throw new InvalidArgumentError("direction", direction, `must be "forward" or "backward"`);
  }
  const limit = options.limit ?? DEFAULT_READ_LIMIT;
  validateLimit(limit);
  const fromVersion = options.fromVersion ?? (direction === "forward" ? 1 : Number.MAX_SAFE_INTEGER);
  validateVersion(fromVersion);
  const { rows } = await db.query<EventRow & { head: number; position: number | null }>(
    `SELECT s.version AS head, ${EVENT_COLUMNS}
     FROM event_streams s
     LEFT JOIN LATERAL (
       SELECT * FROM events x
       WHERE x.stream_id = s.stream_id AND x.stream_version ${direction === "forward" ? ">=" : "<="} $2
       ORDER BY x.stream_version ${direction === "forward" ? "ASC" : "DESC"}
       LIMIT $3
     ) e ON true
     WHERE s.stream_id = $1`,
    [streamId, fromVersion, limit],
  );
  const first = rows[0];
  if (!first) throw new NotFoundError("stream", streamId);
  return {
    streamId,
    version: first.head,
    events: first.position === null ? [] : rows.map(toRecordedEvent),
  };
}

/** The current version of a stream, 0 when it does not exist. */
export async function streamVersion(db: SqlQueryable, streamId: string): Promise<number> {
  validateStreamId(streamId);
  const { rows } = await db.query<{ version: number }>(`SELECT version FROM event_streams WHERE stream_id = $1`, [streamId]);
  return rows[0]?.version ?? 0;
}

export function validateFilter(filter: EventFilter | undefined): void {
  if (!filter) return;
  if (filter.types !== undefined) {
    if (!Array.isArray(filter.types) || filter.types.some((type) => typeof type !== "string" || type.length === 0)) {
      throw new InvalidArgumentError("type filter", filter.types, "must be a list of non-empty strings");
    }
  }
  for (const field of ["context", "correlationId", "streamId"] as const) {
    const value = filter[field];
    if (value !== undefined && (typeof value !== "string" || value.length === 0)) {
      throw new InvalidArgumentError(`${field} filter`, value, "must be a non-empty string");
    }
  }
}

/** Where a log read resumes: the (transaction_id, position) of the last event seen. */
interface LogCursor {
  transactionId: string;
  position: number;
}

/** The cursor of an event position; undefined for 0 (the start). Throws NotFoundError for a position no event has. */
async function cursorAt(db: SqlQueryable, position: number): Promise<LogCursor | undefined> {
  if (position === 0) return undefined;
  const { rows } = await db.query<{ transaction_id: string }>(`SELECT transaction_id::text FROM events WHERE position = $1`, [position]);
  if (!rows[0]) throw new NotFoundError("position", position);
  return { transactionId: rows[0].transaction_id, position };
}

/**
 * The log is read in (transaction_id, position) order and only below the oldest transaction
 * still running (its xmin horizon). A transaction that is still open has an id at or above the
 * horizon, and every event stores an id at least its writer's, so nothing can later commit
 * ahead of an event a reader has already passed.
 */
function logConditions(cursor: LogCursor | undefined, filter: EventFilter | undefined, params: unknown[]): string[] {
  const where = [`e.transaction_id < pg_snapshot_xmin(pg_current_snapshot())`];
  if (cursor) {
    params.push(cursor.transactionId, cursor.position);
    where.push(`(e.transaction_id, e.position) > ($${params.length - 1}::xid8, $${params.length}::bigint)`);
  }
  if (filter?.context !== undefined) {
    params.push(filter.context);
    where.push(`(e.metadata ->> 'context') = $${params.length}`);
  }
  if (filter?.correlationId !== undefined) {
    params.push(filter.correlationId);
    where.push(`(e.metadata ->> 'correlationId') = $${params.length}`);
  }
  if (filter?.streamId !== undefined) {
    params.push(filter.streamId);
    where.push(`e.stream_id = $${params.length}`);
  }
  return where;
}

/**
 * An ordered read with LIMIT. With a type filter, one ordered branch per type (each walking the
 * (type, transaction_id, position) index) merged in order, so a batch costs about `limit` rows
 * however far the log extends, instead of sorting every remaining row of those types.
 */
function orderedRead(columns: string, where: string[], types: readonly string[] | undefined, params: unknown[], limit: number, direction: "ASC" | "DESC"): string {
  params.push(limit);
  const limitParam = `$${params.length}`;
  const order = `ORDER BY e.transaction_id ${direction}, e.position ${direction}`;
  if (!types) return `SELECT ${columns} FROM events e WHERE ${where.join(" AND ")} ${order} LIMIT ${limitParam}`;
  const branches = [...new Set(types)].map((type) => {
    params.push(type);
    return `(SELECT ${columns}, e.transaction_id AS order_xid FROM events e WHERE e.type = $${params.length} AND ${where.join(" AND ")} ${order} LIMIT ${limitParam})`;
  });
  return `SELECT ${columns.replaceAll("e.", "m.")} FROM (${branches.join(" UNION ALL ")}) m
    ORDER BY m.order_xid ${direction}, m.position ${direction} LIMIT ${limitParam}`;
}

/** Reads the committed log after a position, in commit-safe order; see logConditions. */
export async function readLog(db: SqlQueryable, options: LogReadOptions = {}): Promise<LogSlice> {
  const after = options.after ?? 0;
  validatePosition(after, "after position");
  const limit = options.limit ?? DEFAULT_READ_LIMIT;
  validateLimit(limit);
  validateFilter(options.filter);
  const params: unknown[] = [];
  const where = logConditions(await cursorAt(db, after), options.filter, params);
  const { rows } = await db.query<EventRow>(orderedRead(EVENT_COLUMNS, where, options.filter?.types, params, limit, "ASC"), params);
  if (rows.length === 0) return { events: [], lastPosition: after };
  return { events: rows.map(toRecordedEvent), lastPosition: rows[rows.length - 1]!.position };
}

/** How many committed events (matching the filter) follow a position. */
export async function countAfter(db: SqlQueryable, after: number, filter?: EventFilter): Promise<number> {
  validatePosition(after, "after position");
  validateFilter(filter);
  const params: unknown[] = [];
  const where = logConditions(await cursorAt(db, after), filter, params);
  if (filter?.types) {
    params.push(filter.types);
    where.push(`e.type = ANY($${params.length}::text[])`);
  }
  const { rows } = await db.query<{ count: number }>(`SELECT count(*)::bigint AS count FROM events e WHERE ${where.join(" AND ")}`, params);
  return rows[0]!.count;
}

/** Position of the last committed event in log order (0 for an empty log). */
export async function headPosition(db: SqlQueryable, filter?: EventFilter): Promise<number> {
  validateFilter(filter);
  const params: unknown[] = [];
  const where = logConditions(undefined, filter, params);
  const { rows } = await db.query<{ position: number }>(orderedRead("e.position", where, filter?.types, params, 1, "DESC"), params);
  return rows[0]?.position ?? 0;
}
