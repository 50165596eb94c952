import type { PGlite } from "@electric-sql/pglite";
import { PrismaPg } from "@prisma/adapter-pg";
import { PrismaPGlite } from "pglite-prisma-adapter";
import { PrismaClient } from "./generated/client.ts";
import { lockDataDir, type DataDirLock } from "./lock.ts";
import { applyMigrations, listAppliedMigrations } from "./migrate.ts";
import { openPgliteDir, pgliteSql, prepareDataDirParent } from "./pglite.ts";
import { createPool, postgresSql } from "./postgres.ts";
import type { Sql, StorageKind } from "./sql.ts";

export { PrismaClient };

/** Everything the server stores goes through one Storage: Prisma for documents, Sql for the event store. */
export interface Storage {
  readonly kind: StorageKind;
  readonly sql: Sql;
  readonly prisma: PrismaClient;
  /** Where the embedded database lives; undefined on PostgreSQL. */
  readonly dataDir?: string;
  close(): Promise<void>;
}

export class StorageUnavailableError extends Error {
  override name = "StorageUnavailableError";
}

export function storageFromPglite(db: PGlite, options: { dataDir?: string; onClose?: () => void } = {}): Storage {
  const sql = pgliteSql(db);
  const prisma = new PrismaClient({ adapter: new PrismaPGlite(db) });
  return {
    kind: "pglite",
    sql,
    prisma,
    dataDir: options.dataDir,
    async close() {
      await prisma.$disconnect();
      await sql.close();
      options.onClose?.();
    },
  };
}

/** `schema` puts every table in that PostgreSQL schema instead of public (tests use one each). */
export function storageFromPostgres(connectionString: string, options: { poolSize?: number; schema?: string } = {}): Storage {
  const pool = createPool(connectionString, options.poolSize ?? 10, options.schema);
  const sql = postgresSql(pool);
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool, options.schema ? { schema: options.schema } : {}) });
  return {
    kind: "postgresql",
    sql,
    prisma,
    async close() {
      await prisma.$disconnect();
      await sql.close();
    },
  };
}

function describeConnectionError(error: unknown): string {
  const err = error as NodeJS.ErrnoException & { code?: string };
  switch (err.code) {
    case "ECONNREFUSED":
      return "connection refused (is PostgreSQL running there?)";
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return "host not found";
    case "ETIMEDOUT":
      return "connection timed out";
    case "3D000":
      return "database does not exist";
    case "28P01":
    case "28000":
      return "authentication failed";
    default:
      return err.message || String(error);
  }
}

function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "***";
    return parsed.toString();
  } catch {
    return "(unparseable URL)";
  }
}

export interface OpenStorageOptions {
  databaseUrl?: string;
  dataDir: string;
}

/** Opens the configured store, takes the data-directory lock on PGlite and applies pending migrations. */
export async function openStorage(options: OpenStorageOptions): Promise<Storage & { appliedNow: string[] }> {
  if (options.databaseUrl) {
    const storage = storageFromPostgres(options.databaseUrl);
    try {
      await storage.sql.query("SELECT 1");
    } catch (error) {
      await storage.close().catch(() => {});
      throw new StorageUnavailableError(
        `DATABASE_URL ${redact(options.databaseUrl)} cannot be reached: ${describeConnectionError(error)}`,
      );
    }
    try {
      return { ...storage, appliedNow: await applyMigrations(storage.sql) };
    } catch (error) {
      await storage.close().catch(() => {});
      throw error;
    }
  }
  prepareDataDirParent(options.dataDir);
  const lock: DataDirLock = lockDataDir(options.dataDir);
  try {
    const db = await openPgliteDir(options.dataDir);
    const storage = storageFromPglite(db, { dataDir: options.dataDir, onClose: () => lock.release() });
    try {
      return { ...storage, appliedNow: await applyMigrations(storage.sql) };
    } catch (error) {
      await storage.close().catch(() => {});
      throw error;
    }
  } catch (error) {
    lock.release();
    throw error;
  }
}

export { listAppliedMigrations };
