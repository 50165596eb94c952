import type { SqlQueryable } from "./sql.ts";

export interface AppliedMigration {
  name: string;
  finishedAt: Date;
}

export async function listAppliedMigrations(sql: SqlQueryable): Promise<AppliedMigration[]> {
  const { rows } = await sql.query<{ migration_name: string; finished_at: Date }>(
    `SELECT migration_name, finished_at FROM "_prisma_migrations"
     WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL ORDER BY migration_name`,
  );
  return rows.map((row) => ({ name: row.migration_name, finishedAt: new Date(row.finished_at) }));
}
