import fs from "node:fs";
import path from "node:path";
import { PGlite, types } from "@electric-sql/pglite";
import type { Sql, SqlQueryable, SqlTransaction } from "./sql.ts";

// Both engines return BIGINT as a JavaScript number; positions stay far below 2^53.
const parsers = { [types.INT8]: (value: string) => Number(value) };

function wrap(db: Pick<PGlite, "query" | "exec">): SqlQueryable {
  return {
    async query(text, params) {
      const result = await db.query<never>(text, params as unknown[] | undefined);
      return { rows: result.rows, rowCount: result.affectedRows ?? result.rows.length };
    },
    async exec(text) {
      await db.exec(text);
    },
  };
}

/** In process there is no round trip to save: a write runs before the statement after it. */
class PgliteTransaction implements SqlTransaction {
  private readonly db: SqlQueryable;
  private writes: Promise<void> = Promise.resolve();
  private failed = false;
  private failure: unknown;

  constructor(tx: Pick<PGlite, "query" | "exec">) {
    this.db = wrap(tx);
  }

  write(text: string, params?: readonly unknown[], mapError?: (error: unknown) => unknown): void {
    this.writes = this.writes.then(async () => {
      if (this.failed) return;
      try {
        await this.db.query(text, params);
      } catch (error) {
        this.failed = true;
        this.failure = mapError ? mapError(error) : error;
      }
    });
  }

  async settle(): Promise<void> {
    await this.writes;
    if (this.failed) throw this.failure;
  }

  async query<Row>(text: string, params?: readonly unknown[]) {
    await this.settle();
    return this.db.query<Row>(text, params);
  }

  async exec(text: string): Promise<void> {
    await this.settle();
    await this.db.exec(text);
  }
}

export function pgliteSql(db: PGlite): Sql & { readonly pglite: PGlite } {
  return {
    kind: "pglite",
    pglite: db,
    ...wrap(db),
    transaction: (run) =>
      db.transaction(async (tx) => {
        const transaction = new PgliteTransaction(tx);
        const result = await run(transaction);
        await transaction.settle();
        return result;
      }),
    close: () => db.close(),
  };
}

export class DataDirError extends Error {
  override name = "DataDirError";
}

// mkdirSync's recursive mode never returns on some paths (/proc/… under Node 20): walk it ourselves.
function makeDirectories(dir: string): void {
  const missing: string[] = [];
  for (let current = dir; !fs.existsSync(current); current = path.dirname(current)) missing.unshift(current);
  for (const each of missing) fs.mkdirSync(each);
}

/**
 * Creates the directory's parent and proves it is writable by writing into it (permission bits
 * say little when running as root or on a read-only mount); fails with one clear line.
 */
export function prepareDataDirParent(dir: string): void {
  const parent = path.dirname(dir);
  const reasons: Record<string, string> = {
    ENOTDIR: "a part of the path is a file, not a directory",
    EEXIST: "a part of the path is a file, not a directory",
    EACCES: "permission denied",
    EPERM: "permission denied",
    EROFS: "the file system is read-only",
    ENOSPC: "the disk is full",
  };
  try {
    makeDirectories(parent);
    if (fs.existsSync(dir) && !fs.statSync(dir).isDirectory()) {
      throw Object.assign(new Error("is a file"), { code: "ENOTDIR" });
    }
    const probe = path.join(parent, `.sagaboard-write-probe-${process.pid}`);
    fs.writeFileSync(probe, "");
    fs.rmSync(probe);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? "";
    throw new DataDirError(`SAGABOARD_DATA_DIR ${dir} cannot be used: ${reasons[code] ?? (error as Error).message}`);
  }
}

/**
 * Opens the data directory, creating it on first use. The first initialisation writes into a
 * temporary sibling and renames it into place, so an interrupted initdb never leaves a half-made
 * directory behind. The caller must hold the directory's lock.
 */
export async function openPgliteDir(dataDir: string): Promise<PGlite> {
  prepareDataDirParent(dataDir);
  const parent = path.dirname(dataDir);
  const base = path.basename(dataDir);
  for (const entry of fs.readdirSync(/*turbopackIgnore: true*/ parent)) {
    if (entry.startsWith(`${base}.init-`)) fs.rmSync(path.join(parent, entry), { recursive: true, force: true });
  }
  if (!fs.existsSync(path.join(dataDir, "PG_VERSION"))) {
    if (fs.existsSync(dataDir) && fs.readdirSync(/*turbopackIgnore: true*/ dataDir).length > 0) {
      throw new DataDirError(`SAGABOARD_DATA_DIR ${dataDir} is not empty and holds no Sagaboard database`);
    }
    const staging = path.join(parent, `${base}.init-${process.pid}`);
    const fresh = await PGlite.create(staging, { parsers });
    await fresh.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
    fs.renameSync(staging, dataDir);
  }
  return PGlite.create(dataDir, { parsers });
}

/** An in-memory database, optionally started from a dumped data directory (fast for tests). */
export async function openPgliteMemory(loadDataDir?: Blob | File): Promise<PGlite> {
  return PGlite.create({ parsers, ...(loadDataDir ? { loadDataDir } : {}) });
}
