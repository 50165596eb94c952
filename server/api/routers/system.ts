import { createTRPCRouter, publicProcedure } from "@/server/api/trpc.ts";
import { readHealth } from "@/server/system/health.ts";

export const systemRouter = createTRPCRouter({
  health: publicProcedure.query(({ ctx }) => readHealth(ctx.storage)),
});
