/**
 * The one SQL interface the server codes against, implemented over embedded PGlite and over a
 * PostgreSQL pool. Parameters use PostgreSQL's $1 placeholders on both.
 */
export type StorageKind = "pglite" | "postgresql";

export interface QueryResult<Row> {
  rows: Row[];
  rowCount: number;
}

export interface SqlQueryable {
  query<Row = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<QueryResult<Row>>;
  /** Runs several statements separated by semicolons, without parameters. */
  exec(text: string): Promise<void>;
}

export interface Sql extends SqlQueryable {
  readonly kind: StorageKind;
  /** Commits when `run` resolves, rolls back when it throws. */
  transaction<T>(run: (tx: SqlQueryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}
