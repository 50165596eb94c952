import packageJson from "@/package.json" with { type: "json" };
import { listAppliedMigrations } from "@/server/db/migration-history.ts";
import type { Storage } from "@/server/db/storage.ts";

export interface Health {
  status: "ok";
  storage: Storage["kind"];
  version: string;
  migrations: string[];
}

export async function readHealth(storage: Storage): Promise<Health> {
  const migrations = await listAppliedMigrations(storage.sql);
  return { status: "ok", storage: storage.kind, version: packageJson.version, migrations: migrations.map((m) => m.name) };
}
