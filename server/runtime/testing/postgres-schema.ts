/** A migrated PostgreSQL schema of its own, for tests that open it from several processes. */
import { randomBytes } from "node:crypto";
import { applyMigrations } from "../../db/migrate.ts";
import { storageFromPostgres, type Storage } from "../../db/storage.ts";

export interface PostgresSchema {
  url: string;
  schema: string;
  open(poolSize?: number): Storage;
  drop(): Promise<void>;
}

export async function createPostgresSchema(url: string): Promise<PostgresSchema> {
  const schema = `sb_rt_${randomBytes(6).toString("hex")}`;
  const admin = storageFromPostgres(url, { poolSize: 1 });
  await admin.sql.exec(`CREATE SCHEMA "${schema}"`);
  const migrating = storageFromPostgres(url, { schema, poolSize: 2 });
  await applyMigrations(migrating.sql);
  await migrating.close();
  return {
    url,
    schema,
    open: (poolSize = 10) => storageFromPostgres(url, { schema, poolSize }),
    async drop() {
      await admin.sql.exec(`DROP SCHEMA "${schema}" CASCADE`);
      await admin.close();
    },
  };
}
