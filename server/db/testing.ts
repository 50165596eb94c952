import { createHash, randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { applyMigrations, readMigrations } from "./migrate.ts";
import { openPgliteMemory } from "./pglite.ts";
import { storageFromPglite, storageFromPostgres, type Storage } from "./storage.ts";
import type { StorageKind } from "./sql.ts";

/** PGlite always; PostgreSQL too when TEST_DATABASE_URL is set (CI sets it). */
export const testStorageKinds: StorageKind[] = process.env.TEST_DATABASE_URL ? ["pglite", "postgresql"] : ["pglite"];

const CACHE_DIR = path.resolve(import.meta.dirname, "../../node_modules/.cache/sagaboard");
let template: Promise<Blob> | undefined;

/**
 * initdb costs 3-4 s per database; a migrated data directory dumped once (and cached on disk,
 * keyed by the migrations' checksums) opens in about half a second.
 */
function migratedTemplate(): Promise<Blob> {
  template ??= (async () => {
    const key = createHash("sha256")
      .update(readMigrations().map((m) => `${m.name}:${m.checksum}`).join("\n"))
      .digest("hex")
      .slice(0, 16);
    const file = path.join(CACHE_DIR, `pglite-template-${key}.tar`);
    if (fs.existsSync(file)) return new Blob([fs.readFileSync(file)]);
    const db = await openPgliteMemory();
    const storage = storageFromPglite(db);
    await applyMigrations(storage.sql);
    const dump = await db.dumpDataDir("none");
    await storage.close();
    const bytes = Buffer.from(await dump.arrayBuffer());
    fs.mkdirSync(CACHE_DIR, { recursive: true });
    const partial = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(partial, bytes);
    fs.renameSync(partial, file);
    return new Blob([bytes]);
  })();
  return template;
}

export interface TestStorage extends Storage {
  /** Closes the store and drops whatever the test created. */
  dispose(): Promise<void>;
}

/** A fresh, migrated, isolated store: an in-memory PGlite, or a new schema in TEST_DATABASE_URL. */
export async function openTestStorage(kind: StorageKind = "pglite"): Promise<TestStorage> {
  if (kind === "pglite") {
    const storage = storageFromPglite(await openPgliteMemory(await migratedTemplate()));
    return { ...storage, dispose: () => storage.close() };
  }
  const url = process.env.TEST_DATABASE_URL;
  if (!url) throw new Error("TEST_DATABASE_URL is not set");
  const schema = `sb_test_${randomBytes(6).toString("hex")}`;
  const admin = storageFromPostgres(url, { poolSize: 1 });
  await admin.sql.exec(`CREATE SCHEMA "${schema}"`);
  const storage = storageFromPostgres(url, { schema, poolSize: 20 });
  await applyMigrations(storage.sql);
  return {
    ...storage,
    async dispose() {
      await storage.close();
      await admin.sql.exec(`DROP SCHEMA "${schema}" CASCADE`);
      await admin.close();
    },
  };
}
