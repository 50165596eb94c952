import { createHash } from "node:crypto";
import os from "node:os";
import pg from "pg";
import type { QueryResult, Sql, SqlQueryable, SqlTransaction } from "./sql.ts";

// Both engines return BIGINT as a JavaScript number; positions stay far below 2^53.
const typeParsers = {
  getTypeParser(oid: number, format?: "text" | "binary") {
    if (oid === 20) return (value: string) => Number(value);
    return pg.types.getTypeParser(oid, format);
  },
} as pg.CustomTypesConfig;

/**
 * Statements with parameters are prepared once per connection (PostgreSQL then skips parsing and
 * planning them). The server's SQL is a fixed set of texts; the cap keeps a text built at run time
 * from filling every connection with statements.
 */
const MAX_PREPARED_STATEMENTS = 500;
const statementNames = new Map<string, string>();

function statementName(text: string): string | undefined {
  let name = statementNames.get(text);
  if (name === undefined && statementNames.size < MAX_PREPARED_STATEMENTS) {
    name = `sb_${createHash("sha1").update(text).digest("hex").slice(0, 20)}`;
    statementNames.set(text, name);
  }
  return name;
}

async function run<Row>(client: pg.Pool | pg.PoolClient, text: string, params: readonly unknown[] | undefined): Promise<QueryResult<Row>> {
  const name = params && params.length > 0 ? statementName(text) : undefined;
  const result = await client.query({ text, values: params as unknown[] | undefined, types: typeParsers, ...(name ? { name } : {}) });
  return { rows: result.rows as Row[], rowCount: result.rowCount ?? result.rows.length };
}

function wrap(client: pg.Pool | pg.PoolClient): SqlQueryable {
  return {
    query: (text, params) => run(client, text, params),
    async exec(text) {
      await client.query(text);
    },
  };
}

export function createPool(connectionString: string, max = 10, searchPath?: string): pg.Pool {
  // Like libpq, a URL without a user name means the operating-system user (node-pg only reads $USER).
  const url = new URL(connectionString);
  url.username ||= encodeURIComponent(process.env.PGUSER || process.env.USER || os.userInfo().username);
  const pool = new pg.Pool({
    connectionString: url.toString(),
    max,
    connectionTimeoutMillis: 5000,
    // A transaction's BEGIN, its writes whose results nobody waits for, and its COMMIT share round
    // trips with the statements next to them.
    pipeline: true,
    ...(searchPath ? { options: `-c search_path=${searchPath}` } : {}),
  });
  // An idle client losing its server must not crash the process; the next query reconnects.
  pool.on("error", () => {});
  return pool;
}

export function postgresSql(pool: pg.Pool): Sql & { readonly pool: pg.Pool } {
  return {
    kind: "postgresql",
    pool,
    ...wrap(pool),
    async transaction(body) {
      const client = await pool.connect();
      const tx = new PostgresTransaction(client);
      let broken: Error | undefined;
      // A connection lost mid-transaction fails the statements waiting on it; its 'error' event must not crash the process.
      const onError = (error: Error) => (broken = error);
      client.on("error", onError);
      try {
        tx.write("BEGIN");
        const result = await body(tx);
        await tx.commit();
        return result;
      } catch (error) {
        // A connection that cannot even roll back is not given back to the pool.
        await client.query("ROLLBACK").catch((rollbackError: Error) => (broken = rollbackError));
        await tx.settled().catch(() => {});
        throw error;
      } finally {
        client.off("error", onError);
        client.release(broken);
      }
    },
    close: () => pool.end(),
  };
}

/**
 * node-postgres does not expose its socket. It corks and uncorks it itself around each statement;
 * corking it around several statements makes them one write.
 */
function socketOf(client: pg.PoolClient): { cork(): void; uncork(): void } | undefined {
  return (client as unknown as { connection?: { stream?: { cork(): void; uncork(): void } } }).connection?.stream;
}

/**
 * A transaction on a pipelined connection: statements are sent at once, in order, and answered in
 * order. A write nobody waits for fails the transaction; the statement after it then fails too
 * (PostgreSQL refuses statements in an aborted transaction), and the write's own error is the one thrown.
 */
class PostgresTransaction implements SqlTransaction {
  private readonly writes: Promise<void>[] = [];
  private failed = false;
  private failure: unknown;

  /** Statements wait in the socket's buffer while it is corked, and go out together. */
  private corked = false;
  private flushScheduled = false;
  /** Statements sent and not answered yet. */
  private inFlight = 0;
  /** Statements waiting in the corked buffer. */
  private held: { sent: boolean }[] = [];

  constructor(private readonly client: pg.PoolClient) {}

  /**
   * Sends a statement with the others issued in the same tick, in one write. While statements of
   * this transaction are still being answered, new ones wait for the last answer (a connection
   * shared by several bodies then sends one write per round of answers, not one per statement).
   */
  private send<T>(statement: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const stream = socketOf(this.client);
    if (!stream) return statement(this.client);
    if (!this.corked) {
      this.corked = true;
      stream.cork();
    }
    if (this.inFlight === 0) this.scheduleFlush();
    const entry = { sent: false };
    this.held.push(entry);
    const sent = statement(this.client);
    // node-postgres may refuse a statement before sending it (bad parameters); it then never counts as in flight.
    const answered = () => {
      if (entry.sent) this.inFlight -= 1;
      else this.held.splice(this.held.indexOf(entry), 1);
      if (this.inFlight === 0 && this.corked) this.scheduleFlush();
    };
    sent.then(answered, answered);
    return sent;
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    // After this tick's promise jobs: whatever they send joins the same write.
    process.nextTick(() => {
      this.flushScheduled = false;
      if (!this.corked) return;
      this.corked = false;
      for (const entry of this.held) entry.sent = true;
      this.inFlight += this.held.length;
      this.held = [];
      socketOf(this.client)?.uncork();
    });
  }

  write(text: string, params?: readonly unknown[], mapError?: (error: unknown) => unknown): void {
    this.writes.push(
      this.send((client) => run(client, text, params)).then(
        () => {},
        (error: unknown) => {
          if (this.failed) return;
          this.failed = true;
          this.failure = mapError ? mapError(error) : error;
        },
      ),
    );
  }

  /** Waits for the writes sent so far; throws the first one's failure. */
  async settled(): Promise<void> {
    await Promise.all(this.writes);
    this.writes.length = 0;
    if (this.failed) throw this.failure;
  }

  query<Row>(text: string, params?: readonly unknown[]): Promise<QueryResult<Row>> {
    return this.answer(this.send((client) => run<Row>(client, text, params)));
  }

  exec(text: string): Promise<void> {
    return this.answer(this.send((client) => client.query(text)).then(() => {}));
  }

  /** A statement's answer; when it failed because an earlier write did, that write's error. */
  private async answer<T>(sent: Promise<T>): Promise<T> {
    try {
      return await sent;
    } catch (error) {
      await this.settled();
      throw error;
    }
  }

  /** COMMIT goes out behind the writes still in flight; after a failed one PostgreSQL answers ROLLBACK. */
  async commit(): Promise<void> {
    const commit = this.send((client) => client.query("COMMIT"));
    let outcome: pg.QueryResult;
    try {
      outcome = await commit;
    } finally {
      await this.settled();
    }
    if (outcome.command !== "COMMIT") throw new Error(`PostgreSQL answered ${outcome.command} to COMMIT: the transaction was rolled back`);
  }
}
