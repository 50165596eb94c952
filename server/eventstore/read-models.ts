import type { SqlQueryable } from "../db/sql.ts";
import { InvalidArgumentError, NotFoundError } from "./errors.ts";
import { validateProjectionName } from "./projections.ts";

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/**
 * `eq`: the field equals the value (JSON equality). `contains`: a string field contains the
 * string (case-insensitive), or an array field has the value as an element.
 */
export type ReadModelCondition =
  | { field: string; op: "eq"; value: JsonValue }
  | { field: string; op: "contains"; value: JsonValue };

export interface ReadModelQuery {
  filter?: readonly ReadModelCondition[];
  /** Sorts by a data field (dot path); rows without it come first ascending. Default: by key. */
  sort?: { field: string; direction?: "asc" | "desc" };
  limit?: number;
  /** Skips rows; use either offset or cursor. */
  offset?: number;
  /** `nextCursor` of the previous page. */
  cursor?: string;
}

export interface ReadModelRow<State> {
  key: string;
  data: State;
  /** Updates applied to the row. */
  version: number;
  /** Position of the last event that changed the row. */
  updatedPosition: number;
}

export interface ReadModelPage<State> {
  rows: ReadModelRow<State>[];
  /** Rows matching the filter, over all pages. */
  total: number;
  /** Pass as `cursor` for the next page; null on the last page. */
  nextCursor: string | null;
}

export const MAX_PAGE = 1000;
const SEGMENT = /^[A-Za-z0-9_$-]{1,100}$/;

function fieldPath(field: unknown): string[] {
  if (typeof field !== "string" || field.length === 0) {
    throw new InvalidArgumentError("field", field, "must be a dot-separated path such as customer.name");
  }
  const segments = field.split(".");
  if (segments.length > 10 || !segments.every((segment) => SEGMENT.test(segment))) {
    throw new InvalidArgumentError("field", field, "must be a dot-separated path of letters, digits, '_', '$' or '-'");
  }
  return segments;
}

function jsonParam(value: unknown, argument: string): string {
  const json = value === undefined ? undefined : JSON.stringify(value);
  if (json === undefined) throw new InvalidArgumentError(argument, value, "must be a JSON value");
  return json;
}

interface CursorValue {
  sortValue: JsonValue;
  key: string;
}

function encodeCursor(cursor: CursorValue): string {
  return Buffer.from(JSON.stringify([cursor.sortValue, cursor.key])).toString("base64url");
}

function decodeCursor(cursor: string): CursorValue {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
    if (Array.isArray(parsed) && parsed.length === 2 && typeof parsed[1] === "string") {
      return { sortValue: parsed[0] as JsonValue, key: parsed[1] };
    }
  } catch {
    // reported below
  }
  throw new InvalidArgumentError("cursor", cursor, "is not a cursor returned by a previous page");
}

/** Rows of a projection's live view with filter, sort, paging and the total count. */
export async function queryReadModel<State = unknown>(
  db: SqlQueryable,
  projection: string,
  query: ReadModelQuery = {},
): Promise<ReadModelPage<State>> {
  validateProjectionName(projection);
  const limit = query.limit ?? 50;
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_PAGE) {
    throw new InvalidArgumentError("limit", limit, `must be an integer from 1 to ${MAX_PAGE}`);
  }
  const offset = query.offset ?? 0;
  if (!Number.isSafeInteger(offset) || offset < 0) throw new InvalidArgumentError("offset", offset, "must be a non-negative integer");
  if (query.cursor !== undefined && offset > 0) throw new InvalidArgumentError("offset", offset, "cannot be combined with a cursor");
  const direction = query.sort?.direction ?? "asc";
  if (direction !== "asc" && direction !== "desc") throw new InvalidArgumentError("sort direction", direction, `must be "asc" or "desc"`);

  const params: unknown[] = [projection];
  const where = [`r.view = p.view`];
  for (const condition of query.filter ?? []) {
    params.push(fieldPath(condition.field));
    const path = `$${params.length}::text[]`;
    params.push(jsonParam(condition.value, `value for ${condition.field}`));
    const value = `$${params.length}::text::jsonb`;
    switch (condition.op) {
      case "eq":
        where.push(`r.data #> ${path} = ${value}`);
        break;
      case "contains":
        where.push(`CASE jsonb_typeof(r.data #> ${path})
          WHEN 'array' THEN r.data #> ${path} @> jsonb_build_array(${value})
          WHEN 'string' THEN jsonb_typeof(${value}) = 'string' AND strpos(lower(r.data #>> ${path}), lower(${value} #>> '{}')) > 0
          ELSE false END`);
        break;
      default: {
        const unexpected: never = condition;
        throw new InvalidArgumentError("filter operator", (unexpected as { op: unknown }).op, `must be "eq" or "contains"`);
      }
    }
  }

  const countParams = [...params];
  let sortExpression = `to_jsonb(r.key)`;
  if (query.sort) {
    params.push(fieldPath(query.sort.field));
    sortExpression = `coalesce(r.data #> $${params.length}::text[], 'null'::jsonb)`;
  }
  const pageWhere = [...where];
  if (query.cursor !== undefined) {
    const cursor = decodeCursor(query.cursor);
    params.push(JSON.stringify(cursor.sortValue), cursor.key);
    pageWhere.push(`(${sortExpression}, r.key) ${direction === "asc" ? ">" : "<"} ($${params.length - 1}::text::jsonb, $${params.length})`);
  }
  params.push(limit + 1, offset);
  const order = direction === "asc" ? "ASC" : "DESC";

  const { rows: projections } = await db.query<{ total: number }>(
    `SELECT (SELECT count(*) FROM read_model_rows r WHERE ${where.join(" AND ")})::bigint AS total
     FROM projections p WHERE p.name = $1`,
    countParams,
  );
  if (!projections[0]) throw new NotFoundError("projection", projection);
  const { rows } = await db.query<{ key: string; data: State; version: number; updated_position: number; sort_value: JsonValue }>(
    `SELECT r.key, r.data, r.version, r.updated_position, ${sortExpression} AS sort_value
     FROM projections p JOIN read_model_rows r ON ${pageWhere.join(" AND ")}
     WHERE p.name = $1
     ORDER BY ${sortExpression} ${order}, r.key ${order}
     LIMIT $${params.length - 1} OFFSET $${params.length}`,
    params,
  );
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  return {
    rows: page.map((row) => ({ key: row.key, data: row.data, version: row.version, updatedPosition: row.updated_position })),
    total: projections[0].total,
    nextCursor: rows.length > limit && last ? encodeCursor({ sortValue: last.sort_value, key: last.key }) : null,
  };
}

/** One row of a projection's live view, or undefined. */
export async function getReadModelRow<State = unknown>(db: SqlQueryable, projection: string, key: string): Promise<ReadModelRow<State> | undefined> {
  validateProjectionName(projection);
  if (typeof key !== "string" || key.length === 0) throw new InvalidArgumentError("key", key, "must be a non-empty string");
  const { rows } = await db.query<{ found: boolean; key: string | null; data: State; version: number; updated_position: number }>(
    `SELECT true AS found, r.key, r.data, r.version, r.updated_position
     FROM projections p LEFT JOIN read_model_rows r ON r.view = p.view AND r.key = $2
     WHERE p.name = $1`,
    [projection, key],
  );
  if (!rows[0]) throw new NotFoundError("projection", projection);
  const row = rows[0];
  return row.key === null ? undefined : { key: row.key, data: row.data, version: row.version, updatedPosition: row.updated_position };
}
