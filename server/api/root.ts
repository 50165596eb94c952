import type { inferRouterInputs, inferRouterOutputs } from "@trpc/server";
import { createCallerFactory, createTRPCRouter } from "@/server/api/trpc.ts";
import { systemRouter } from "@/server/api/routers/system.ts";
import { boardRouter } from "@/server/api/routers/board.ts";
import { runtimeRouter } from "@/server/api/routers/runtime.ts";
import { eventstoreRouter } from "@/server/api/routers/eventstore.ts";
import { liveRouter } from "@/server/api/routers/live.ts";
import { busesRouter } from "@/server/api/routers/buses.ts";
import { definitionRouter } from "@/server/api/routers/definition.ts";

export const appRouter = createTRPCRouter({
  system: systemRouter,
  board: boardRouter,
  runtime: runtimeRouter,
  eventstore: eventstoreRouter,
  live: liveRouter,
  buses: busesRouter,
  definition: definitionRouter,
});

export type AppRouter = typeof appRouter;
export type RouterInputs = inferRouterInputs<AppRouter>;
export type RouterOutputs = inferRouterOutputs<AppRouter>;
export const createCaller = createCallerFactory(appRouter);
