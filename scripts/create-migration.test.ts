import { expect, it } from "vitest";
import { diffMigrationsToSchema } from "./create-migration.ts";

it("the committed migrations produce exactly the tables prisma/schema.prisma describes", { timeout: 60_000 }, async () => {
  const sql = (await diffMigrationsToSchema()).trim();
  expect(sql).toBe("-- This is an empty migration.");
});
