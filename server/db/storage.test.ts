import { execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { DataDirLockedError, lockDataDir } from "./lock.ts";
import { applyMigrations, listAppliedMigrations, MigrationError, readMigrations } from "./migrate.ts";
import { openStorage } from "./storage.ts";
import { openTestStorage, testStorageKinds, type TestStorage } from "./testing.ts";

const tmpDirs: string[] = [];
function tmpDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sagaboard-test-"));
  tmpDirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of tmpDirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

describe("data directory lock", () => {
  it("refuses a second holder while the first lives, naming the PID", () => {
    const dataDir = path.join(tmpDir(), "data");
    // A live process other than us holds it.
    const holder = spawn(process.execPath, ["-e", "setTimeout(() => {}, 60000)"], { stdio: "ignore" });
    try {
      fs.writeFileSync(`${dataDir}.lock`, `${holder.pid}\nhost\n`);
      expect(() => lockDataDir(dataDir)).toThrow(DataDirLockedError);
      expect(() => lockDataDir(dataDir)).toThrow(new RegExp(`PID ${holder.pid}`));
    } finally {
      holder.kill("SIGKILL");
    }
  });

  it("takes over a lock left by a dead process", () => {
    const dataDir = path.join(tmpDir(), "data");
    const dead = Number(execFileSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"]));
    fs.writeFileSync(`${dataDir}.lock`, `${dead}\nhost\n`);
    const lock = lockDataDir(dataDir);
    expect(fs.readFileSync(lock.file, "utf8").split("\n")[0]).toBe(String(process.pid));
    lock.release();
    expect(fs.existsSync(lock.file)).toBe(false);
  });

  it("takes over an empty lock file cut short by a crash", () => {
    const dataDir = path.join(tmpDir(), "data");
    fs.writeFileSync(`${dataDir}.lock`, "");
    lockDataDir(dataDir).release();
  });
});

describe("openStorage on a PGlite directory", () => {
  it("creates the directory, migrates once, and keeps data across reopen", async () => {
    const dataDir = path.join(tmpDir(), "nested", "data");
    const first = await openStorage({ dataDir });
    expect(first.appliedNow).toEqual(readMigrations().map((m) => m.name));
    await first.prisma.board.create({ data: { id: "b1", name: "Kept", schemaVersion: 1, document: {} } });
    await expect(openStorage({ dataDir })).rejects.toThrow(DataDirLockedError);
    await first.close();

    const second = await openStorage({ dataDir });
    expect(second.appliedNow).toEqual([]);
    expect(await second.prisma.board.findUnique({ where: { id: "b1" } })).toMatchObject({ name: "Kept" });
    await second.close();
    expect(fs.readdirSync(path.dirname(dataDir)).filter((f) => f.includes(".init-"))).toEqual([]);
  });

  it("refuses an unwritable directory with one line naming the setting", async () => {
    const parent = tmpDir();
    fs.writeFileSync(path.join(parent, "file"), "x");
    await expect(openStorage({ dataDir: path.join(parent, "file", "data") })).rejects.toThrow(
      /^SAGABOARD_DATA_DIR .* cannot be used: a part of the path is a file, not a directory$/,
    );
  });
});

describe.each(testStorageKinds)("migrations on %s", (kind) => {
  it("applies nothing twice and records Prisma's format", async () => {
    const storage = await openTestStorage(kind);
    try {
      expect(await applyMigrations(storage.sql)).toEqual([]);
      const applied = await listAppliedMigrations(storage.sql);
      expect(applied.map((m) => m.name)).toEqual(readMigrations().map((m) => m.name));
    } finally {
      await storage.dispose();
    }
  });

  it("rolls back a failing migration alone and names it", async () => {
    const storage = await openTestStorage(kind);
    try {
      const migrations = [
        ...readMigrations(),
        { name: "29990101000000_good", sql: "CREATE TABLE good_one (id int);", checksum: "a".repeat(64) },
        { name: "29990102000000_bad", sql: "CREATE TABLE half_made (id int); SELECT nope;", checksum: "b".repeat(64) },
      ];
      await expect(applyMigrations(storage.sql, migrations)).rejects.toThrow(MigrationError);
      await expect(applyMigrations(storage.sql, migrations)).rejects.toThrow(/29990102000000_bad failed and was rolled back/);
      const tables = await storage.sql.query<{ name: string }>(
        `SELECT table_name AS name FROM information_schema.tables WHERE table_name IN ('good_one', 'half_made') AND table_schema = current_schema()`,
      );
      expect(tables.rows.map((r) => r.name)).toEqual(["good_one"]);
      const names = (await listAppliedMigrations(storage.sql)).map((m) => m.name);
      expect(names).toContain("29990101000000_good");
      expect(names).not.toContain("29990102000000_bad");
    } finally {
      await storage.dispose();
    }
  });

  it("refuses a migration edited after it was applied", async () => {
    const storage = await openTestStorage(kind);
    try {
      const edited = readMigrations().map((m, i) => (i === 0 ? { ...m, checksum: "c".repeat(64) } : m));
      await expect(applyMigrations(storage.sql, edited)).rejects.toThrow(/was changed after it was applied/);
    } finally {
      await storage.dispose();
    }
  });
});

describe.each(testStorageKinds)("transactions on %s", (kind) => {
  async function withTable(run: (storage: TestStorage) => Promise<void>) {
    const storage = await openTestStorage(kind);
    try {
      await storage.sql.exec("CREATE TABLE tx_probe (id int PRIMARY KEY, note text NOT NULL)");
      await run(storage);
    } finally {
      await storage.dispose();
    }
  }
  const stored = async (storage: TestStorage) =>
    (await storage.sql.query<{ id: number }>("SELECT id FROM tx_probe ORDER BY id")).rows.map((row) => row.id);

  it("runs writes nobody waits for in order with the statements around them, and commits them", async () => {
    await withTable(async (storage) => {
      const seen = await storage.sql.transaction(async (tx) => {
        tx.write("INSERT INTO tx_probe (id, note) VALUES ($1, $2)", [1, "a"]);
        tx.write("INSERT INTO tx_probe (id, note) VALUES ($1, $2)", [2, "b"]);
        const { rows } = await tx.query<{ n: number }>("SELECT count(*)::int AS n FROM tx_probe WHERE id > $1", [0]);
        tx.write("INSERT INTO tx_probe (id, note) VALUES ($1, $2)", [3, "c"]);
        return rows[0]!.n;
      });
      expect(seen).toBe(2);
      expect(await stored(storage)).toEqual([1, 2, 3]);
    });
  });

  it("fails the statement after a failed write with the write's own error, and stores nothing", async () => {
    await withTable(async (storage) => {
      const attempt = storage.sql.transaction(async (tx) => {
        tx.write("INSERT INTO tx_probe (id, note) VALUES ($1, $2)", [1, "a"]);
        tx.write("INSERT INTO tx_probe (id, note) VALUES ($1, $2)", [2, null]);
        await tx.query("SELECT id FROM tx_probe WHERE id = $1", [1]);
        return "should not get here";
      });
      await expect(attempt).rejects.toThrow(/null value in column "note"/);
      expect(await stored(storage)).toEqual([]);
    });
  });

  it("fails the commit when its last write fails, through mapError, and stores nothing", async () => {
    await withTable(async (storage) => {
      class DuplicateProbe extends Error {}
      const attempt = storage.sql.transaction(async (tx) => {
        await tx.query("INSERT INTO tx_probe (id, note) VALUES ($1, $2)", [1, "a"]);
        tx.write("INSERT INTO tx_probe (id, note) VALUES ($1, $2)", [1, "again"], (error) => new DuplicateProbe(String((error as Error).message)));
      });
      await expect(attempt).rejects.toBeInstanceOf(DuplicateProbe);
      expect(await stored(storage)).toEqual([]);
      // The connection is usable afterwards: the next transaction commits.
      await storage.sql.transaction(async (tx) => tx.write("INSERT INTO tx_probe (id, note) VALUES ($1, $2)", [5, "e"]));
      expect(await stored(storage)).toEqual([5]);
    });
  });

  // Only a server connection can die under a transaction.
  if (kind === "postgresql") it("discards a connection that died inside a transaction, and the pool keeps serving", async () => {
    await withTable(async (storage) => {
      const attempt = storage.sql.transaction(async (tx) => {
        tx.write("INSERT INTO tx_probe (id, note) VALUES ($1, $2)", [1, "a"]);
        await tx.query("SELECT pg_terminate_backend(pg_backend_pid()) WHERE $1::int = 1", [1]);
      });
      await expect(attempt).rejects.toThrow(/terminat/);
      for (let index = 0; index < 12; index += 1) {
        await storage.sql.transaction(async (tx) => tx.write("INSERT INTO tx_probe (id, note) VALUES ($1, $2)", [10 + index, "after"]));
      }
      expect(await stored(storage)).toEqual(Array.from({ length: 12 }, (_, index) => 10 + index));
    });
  });

  it("refuses a parameter the driver cannot send in its own statement; the transaction goes on", async () => {
    await withTable(async (storage) => {
      const circular: Record<string, unknown> = {};
      circular.self = circular;
      const count = await storage.sql.transaction(async (tx) => {
        tx.write("INSERT INTO tx_probe (id, note) VALUES ($1, $2)", [1, "a"]);
        await expect(tx.query("SELECT $1::jsonb AS value", [circular])).rejects.toThrow(/circular/i);
        tx.write("INSERT INTO tx_probe (id, note) VALUES ($1, $2)", [2, "b"]);
        const { rows } = await tx.query<{ n: number }>("SELECT count(*)::int AS n FROM tx_probe WHERE id > $1", [0]);
        return rows[0]!.n;
      });
      expect(count).toBe(2);
      expect(await stored(storage)).toEqual([1, 2]);
    });
  });

  it("rolls back writes in flight when the body throws", async () => {
    await withTable(async (storage) => {
      const attempt = storage.sql.transaction(async (tx) => {
        tx.write("INSERT INTO tx_probe (id, note) VALUES ($1, $2)", [1, "a"]);
        throw new Error("changed my mind");
      });
      await expect(attempt).rejects.toThrow("changed my mind");
      expect(await stored(storage)).toEqual([]);
    });
  });
});
