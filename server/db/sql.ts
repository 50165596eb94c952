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

export interface SqlTransaction extends SqlQueryable {
  /**
   * Sends a write whose result the caller does not read. On PostgreSQL it shares a round trip
   * with the statement after it (or with the commit). If it fails, the transaction fails: the next
   * statement, or the commit, throws its error, passed through `mapError` when given.
   */
  write(text: string, params?: readonly unknown[], mapError?: (error: unknown) => unknown): void;
}

export interface Sql extends SqlQueryable {
  readonly kind: StorageKind;
  /** Commits when `run` resolves, rolls back when it throws. */
  transaction<T>(run: (tx: SqlTransaction) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}
