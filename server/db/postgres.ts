import os from "node:os";
import pg from "pg";
import type { Sql, SqlQueryable } from "./sql.ts";

// Both engines return BIGINT as a JavaScript number; positions stay far below 2^53.
const typeParsers = {
  getTypeParser(oid: number, format?: "text" | "binary") {
    if (oid === 20) return (value: string) => Number(value);
    return pg.types.getTypeParser(oid, format);
  },
} as pg.CustomTypesConfig;

function wrap(client: pg.Pool | pg.PoolClient): SqlQueryable {
  return {
    async query(text, params) {
      const result = await client.query({ text, values: params as unknown[] | undefined, types: typeParsers });
      return { rows: result.rows, rowCount: result.rowCount ?? result.rows.length };
    },
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
    async transaction(run) {
      const client = await pool.connect();
      try {
        await client.query("BEGIN");
        const result = await run(wrap(client));
        await client.query("COMMIT");
        return result;
      } catch (error) {
        await client.query("ROLLBACK").catch(() => {});
        throw error;
      } finally {
        client.release();
      }
    },
    close: () => pool.end(),
  };
}
