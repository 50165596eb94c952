/**
 * `npm run db:migration -- <name>`: writes prisma/migrations/<timestamp>_<name>/migration.sql with
 * the SQL that takes the committed migrations to prisma/schema.prisma. Prisma's own
 * `migrate dev` needs a native engine download; this drives the WebAssembly schema engine over an
 * in-memory PGlite instead, so it works offline. Hand-written parts of migrations (triggers,
 * functions) are invisible to Prisma's diff and are kept as they are.
 */
import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { bindMigrationAwareSqlAdapterFactory } from "@prisma/driver-adapter-utils";
import * as engineBindings from "@prisma/schema-engine-wasm/schema_engine_bg";
import { PrismaPGlite } from "pglite-prisma-adapter";
import { MIGRATIONS_DIR, readMigrations } from "../server/db/migrate.ts";

const ROOT = path.resolve(import.meta.dirname, "..");
const SCHEMA_PATH = path.join(ROOT, "prisma/schema.prisma");

async function loadSchemaEngine() {
  const require = createRequire(import.meta.url);
  const wasmPath = path.join(path.dirname(require.resolve("@prisma/schema-engine-wasm/schema_engine_bg")), "schema_engine_bg.wasm");
  const bindings = engineBindings as unknown as WebAssembly.ModuleImports & { __wbg_set_wasm(exports: WebAssembly.Exports): void };
  const { instance } = await WebAssembly.instantiate(fs.readFileSync(wasmPath), { "./schema_engine_bg.js": bindings });
  bindings.__wbg_set_wasm(instance.exports);
  (instance.exports.__wbindgen_start as () => void)();
  return engineBindings.SchemaEngine;
}

export async function diffMigrationsToSchema(): Promise<string> {
  const SchemaEngine = await loadSchemaEngine();
  const schema = fs.readFileSync(SCHEMA_PATH, "utf8");
  const pglite = await PGlite.create();
  const adapter = bindMigrationAwareSqlAdapterFactory(new PrismaPGlite(pglite));
  const engine = await SchemaEngine.new({ datamodels: [[SCHEMA_PATH, schema]] }, () => {}, adapter);
  const migrations = readMigrations();
  const result = await engine.diff({
    from: {
      tag: "migrations",
      baseDir: MIGRATIONS_DIR,
      lockfile: { path: "migration_lock.toml", content: fs.readFileSync(path.join(MIGRATIONS_DIR, "migration_lock.toml"), "utf8") },
      shadowDbInitScript: "",
      migrationDirectories: migrations.map((m) => ({ path: m.name, migrationFile: { path: "migration.sql", content: { tag: "ok", value: m.sql } } })),
    },
    to: { tag: "schemaDatamodel", files: [{ path: SCHEMA_PATH, content: schema }] },
    script: true,
    exitCode: null,
    filters: { externalTables: [], externalEnums: [] },
  });
  await pglite.close();
  return result.stdout ?? "";
}

async function main() {
  const name = process.argv[2];
  if (!name || !/^[a-z0-9_]+$/.test(name)) {
    process.stderr.write("usage: npm run db:migration -- <name>   (lowercase letters, digits and _)\n");
    process.exit(2);
  }
  const sql = (await diffMigrationsToSchema()).trim();
  if (sql === "" || /^-- This is an empty migration\.?$/.test(sql)) {
    process.stdout.write("prisma/schema.prisma matches the migrations: nothing to write.\n");
    process.exit(0);
  }
  const stamp = new Date().toISOString().replace(/\D/g, "").slice(0, 14);
  const dir = path.join(MIGRATIONS_DIR, `${stamp}_${name}`);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, "migration.sql"), `${sql}\n`);
  process.stdout.write(`Wrote ${path.relative(ROOT, dir)}/migration.sql:\n\n${sql}\n`);
  // The engine leaves a timer running.
  process.exit(0);
}

if (process.argv[1] === import.meta.filename) main().catch((error) => {
  process.stderr.write(`db:migration: ${(error as Error).message}\n`);
  process.exit(1);
});
