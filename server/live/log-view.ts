/**
 * Reads of the log as the HTTP streams see it.
 *
 * Order: the store's commit-safe log order, (transaction_id, position), and only rows below the
 * oldest running transaction (the same horizon readLog uses). Everything a later commit adds
 * sorts after every row already below the horizon, so the readable log only ever grows at its
 * end. That makes sequence numbers stable:
 * - `all`, `context-…`, `definition-…`, `instance-…`: the 1-based sequence of an event is its
 *   rank among the stream's events in log order (an OFFSET over the matching index).
 * - `stream-…`: the sequence is the event-store stream version (1, 2, … without gaps); a stream's
 *   versions come out of the log in version order, so the readable versions are always 1..n.
 */
import type { SqlQueryable } from "../db/sql.ts";
import type { EventMetadata, RecordedEvent } from "../eventstore/index.ts";
import type { StreamSelector } from "./stream-name.ts";

/** Where an event sits in log order. Positions alone are not ordered that way. */
export interface LogKey {
  xid: bigint;
  position: number;
}

export interface LoggedEvent {
  event: RecordedEvent;
  key: LogKey;
}

export function compareLogKeys(a: LogKey, b: LogKey): number {
  if (a.xid !== b.xid) return a.xid < b.xid ? -1 : 1;
  return a.position - b.position;
}

interface LoggedRow {
  position: number;
  stream_id: string;
  stream_version: number;
  type: string;
  data: unknown;
  metadata: EventMetadata;
  xid: string;
}

const COLUMNS = `e.position, e.stream_id, e.stream_version, e.type, e.data, e.metadata, e.transaction_id::text AS xid`;
const BELOW_HORIZON = `e.transaction_id < pg_snapshot_xmin(pg_current_snapshot())`;

function toLogged(row: LoggedRow): LoggedEvent {
  return {
    event: {
      position: row.position,
      streamId: row.stream_id,
      streamVersion: row.stream_version,
      type: row.type,
      data: row.data,
      metadata: row.metadata,
    },
    key: { xid: BigInt(row.xid), position: row.position },
  };
}

/** The SQL condition selecting a stream's events; pushes its parameter. */
function selectorCondition(selector: StreamSelector, params: unknown[]): string {
  switch (selector.kind) {
    case "all":
      return "true";
    case "context":
      params.push(selector.context);
      return `(e.metadata ->> 'context') = $${params.length}`;
    case "definition":
      params.push(selector.definitionId);
      return `(e.metadata ->> 'definitionId') = $${params.length}`;
    case "instance":
      params.push(selector.correlationId);
      return `(e.metadata ->> 'correlationId') = $${params.length}`;
    case "stream":
      params.push(selector.streamId);
      return `e.stream_id = $${params.length}`;
    default: {
      const unreachable: never = selector;
      throw new Error(`unknown stream selector ${JSON.stringify(unreachable)}`);
    }
  }
}

/** Up to `limit` events of the stream starting at 1-based sequence number `from`. */
export async function readSequence(db: SqlQueryable, selector: StreamSelector, from: number, limit: number): Promise<LoggedEvent[]> {
  const params: unknown[] = [];
  const condition = selectorCondition(selector, params);
  if (selector.kind === "stream") {
    params.push(from, limit);
    const { rows } = await db.query<LoggedRow>(
      `SELECT ${COLUMNS} FROM events e
       WHERE ${BELOW_HORIZON} AND ${condition} AND e.stream_version >= $${params.length - 1}
       ORDER BY e.stream_version LIMIT $${params.length}`,
      params,
    );
    return rows.map(toLogged);
  }
  params.push(from - 1, limit);
  const { rows } = await db.query<LoggedRow>(
    `SELECT ${COLUMNS} FROM events e
     WHERE ${BELOW_HORIZON} AND ${condition}
     ORDER BY e.transaction_id, e.position OFFSET $${params.length - 1} LIMIT $${params.length}`,
    params,
  );
  return rows.map(toLogged);
}

/** How many events the stream has below the horizon (its newest sequence number). */
export async function sequenceLength(db: SqlQueryable, selector: StreamSelector): Promise<number> {
  const params: unknown[] = [];
  const condition = selectorCondition(selector, params);
  const measure = selector.kind === "stream" ? "coalesce(max(e.stream_version), 0)" : "count(*)";
  const { rows } = await db.query<{ length: number }>(
    `SELECT ${measure}::bigint AS length FROM events e WHERE ${BELOW_HORIZON} AND ${condition}`,
    params,
  );
  return rows[0]?.length ?? 0;
}

/** Events of the stream after `after` in log order (from the start when null). */
export async function readAfter(db: SqlQueryable, selector: StreamSelector, after: LogKey | null, limit: number): Promise<LoggedEvent[]> {
  const params: unknown[] = [];
  const conditions = [BELOW_HORIZON, selectorCondition(selector, params)];
  if (after !== null) {
    params.push(after.xid.toString(), after.position);
    conditions.push(`(e.transaction_id, e.position) > ($${params.length - 1}::xid8, $${params.length}::bigint)`);
  }
  params.push(limit);
  const { rows } = await db.query<LoggedRow>(
    `SELECT ${COLUMNS} FROM events e WHERE ${conditions.join(" AND ")}
     ORDER BY e.transaction_id, e.position LIMIT $${params.length}`,
    params,
  );
  return rows.map(toLogged);
}

/** The log keys of committed events by position; positions not (yet) visible are missing. */
export async function logKeys(db: SqlQueryable, positions: readonly number[]): Promise<Map<number, LogKey>> {
  const keys = new Map<number, LogKey>();
  if (positions.length === 0) return keys;
  const { rows } = await db.query<{ position: number; xid: string }>(
    `SELECT e.position, e.transaction_id::text AS xid FROM events e WHERE e.position = ANY($1::bigint[])`,
    [positions],
  );
  for (const row of rows) keys.set(row.position, { xid: BigInt(row.xid), position: row.position });
  return keys;
}

/** The log key of the newest readable event; null while the log is empty. */
export async function headKey(db: SqlQueryable): Promise<LogKey | null> {
  const { rows } = await db.query<{ position: number; xid: string }>(
    `SELECT e.position, e.transaction_id::text AS xid FROM events e WHERE ${BELOW_HORIZON}
     ORDER BY e.transaction_id DESC, e.position DESC LIMIT 1`,
  );
  const row = rows[0];
  return row ? { xid: BigInt(row.xid), position: row.position } : null;
}
