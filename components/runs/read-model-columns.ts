/**
 * Columns of a read model table, taken from the rows themselves: a read model has no declared
 * schema at runtime, so every field any row has becomes a column (nested objects as dot paths,
 * arrays as one cell), in the order the fields first appear.
 */

export interface ReadModelColumn {
  /** Dot path into the row's data, e.g. `customer.name`. */
  path: string;
  /** Whether the server can sort and filter by it (readModel accepts paths of letters, digits, '_', '$' and '-'). */
  queryable: boolean;
}

const SEGMENT = /^[A-Za-z0-9_$-]{1,100}$/;
const MAX_DEPTH = 3;
const MAX_COLUMNS = 40;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function collect(value: Record<string, unknown>, prefix: string[], depth: number, into: Map<string, string[]>): void {
  for (const [field, inner] of Object.entries(value)) {
    const path = [...prefix, field];
    if (isPlainObject(inner) && depth < MAX_DEPTH && Object.keys(inner).length > 0) collect(inner, path, depth + 1, into);
    else if (!into.has(path.join("."))) into.set(path.join("."), path);
  }
}

export function columnsOf(rows: readonly { data: unknown }[]): ReadModelColumn[] {
  const paths = new Map<string, string[]>();
  for (const row of rows) {
    if (isPlainObject(row.data)) collect(row.data, [], 1, paths);
    else if (!paths.has("")) paths.set("", []);
  }
  return [...paths.entries()].slice(0, MAX_COLUMNS).map(([path, segments]) => ({
    path,
    queryable: segments.length > 0 && segments.length <= 10 && segments.every((segment) => SEGMENT.test(segment)),
  }));
}

export function valueAt(data: unknown, path: string): unknown {
  if (path === "") return data;
  let current: unknown = data;
  for (const segment of path.split(".")) {
    if (!isPlainObject(current)) return undefined;
    current = current[segment];
  }
  return current;
}

/** A cell's text: strings as they are, other values as compact JSON, missing as empty. */
export function cellText(value: unknown): string {
  if (value === undefined) return "";
  if (typeof value === "string") return value;
  return JSON.stringify(value) ?? "";
}
