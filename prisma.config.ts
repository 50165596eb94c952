import { defineConfig } from "prisma/config";

// Prisma's CLI downloads a native schema engine before every command; offline machines have no
// such download, and `generate` does not need the engine at all. Users with network are unaffected.
process.env.PRISMA_SCHEMA_ENGINE_BINARY ??= "/bin/false";
process.env.CHECKPOINT_DISABLE ??= "1";

export default defineConfig({
  schema: "prisma/schema.prisma",
  migrations: { path: "prisma/migrations" },
});
