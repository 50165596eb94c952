/**
 * The event log and projections over tRPC: reading streams and the global log, querying read
 * models, projection lag, and rebuilding a projection that runs in this process.
 */
import { TRPCError, type TRPC_ERROR_CODE_KEY } from "@trpc/server";
import { z } from "zod";
import { createTRPCRouter, publicProcedure } from "@/server/api/trpc.ts";
import {
  EventStoreError,
  listProjections,
  MAX_PAGE,
  MAX_READ_LIMIT,
  projectionLag,
  projectorsOf,
  queryReadModel,
  readLog,
  readStream,
  rebuildProgress,
  type EventStoreErrorCode,
} from "@/server/eventstore/index.ts";

function trpcCode(code: EventStoreErrorCode): TRPC_ERROR_CODE_KEY {
  switch (code) {
    case "not_found":
      return "NOT_FOUND";
    case "invalid_argument":
      return "BAD_REQUEST";
    case "event_too_large":
      return "PAYLOAD_TOO_LARGE";
    case "concurrency":
    case "idempotency_conflict":
    case "append_race":
      return "CONFLICT";
    case "projection_handler":
      return "INTERNAL_SERVER_ERROR";
    default: {
      const unexpected: never = code;
      throw new Error(`unknown event store error code ${String(unexpected)}`);
    }
  }
}

/** Event store errors become the matching tRPC error with the store's message; others pass through. */
async function mapped<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof EventStoreError) throw new TRPCError({ code: trpcCode(error.code), message: error.message, cause: error });
    throw error;
  }
}

const position = z.number().int().min(0);
const limit = z.number().int().min(1).max(MAX_READ_LIMIT);
const name = z.string().min(1).max(1000);
const projection = z.string().regex(/^[A-Za-z0-9_.:-]{1,200}$/, "letters, digits, '_', '.', ':' or '-'");
const fieldPath = z.string().min(1).max(400);

const eventFilter = z
  .object({
    types: z.array(name).min(1).max(50).optional(),
    context: name.optional(),
    correlationId: name.optional(),
    streamId: name.optional(),
  })
  .strict();

const readModelCondition = z.discriminatedUnion("op", [
  z.object({ field: fieldPath, op: z.literal("eq"), value: z.json() }),
  z.object({ field: fieldPath, op: z.literal("contains"), value: z.json() }),
]);

export const eventstoreRouter = createTRPCRouter({
  readStream: publicProcedure
    .input(
      z.object({
        streamId: name,
        direction: z.enum(["forward", "backward"]).optional(),
        fromVersion: z.number().int().min(1).optional(),
        limit: limit.optional(),
      }),
    )
    .query(({ ctx, input }) => mapped(() => readStream(ctx.storage.sql, input.streamId, input))),

  readAll: publicProcedure
    .input(z.object({ after: position.optional(), limit: limit.optional(), filter: eventFilter.optional() }))
    .query(({ ctx, input }) => mapped(() => readLog(ctx.storage.sql, input))),

  projections: publicProcedure.query(({ ctx }) => mapped(() => listProjections(ctx.storage.sql))),

  readModel: publicProcedure
    .input(
      z.object({
        projection,
        filter: z.array(readModelCondition).max(20).optional(),
        sort: z.object({ field: fieldPath, direction: z.enum(["asc", "desc"]).optional() }).optional(),
        limit: z.number().int().min(1).max(MAX_PAGE).optional(),
        offset: z.number().int().min(0).optional(),
        cursor: z.string().min(1).max(4000).optional(),
      }),
    )
    .query(({ ctx, input }) => mapped(() => queryReadModel(ctx.storage.sql, input.projection, input))),

  lag: publicProcedure.input(z.object({ projection })).query(({ ctx, input }) => mapped(() => projectionLag(ctx.storage.sql, input.projection))),

  rebuildProgress: publicProcedure
    .input(z.object({ projection }))
    .query(({ ctx, input }) => mapped(() => rebuildProgress(ctx.storage.sql, input.projection))),

  /** Starts (or joins) a rebuild; poll rebuildProgress for processed / total. */
  startRebuild: publicProcedure.input(z.object({ projection })).mutation(async ({ ctx, input }) => {
    const projector = projectorsOf(ctx.storage.sql).get(input.projection);
    if (!projector) {
      throw new TRPCError({ code: "NOT_FOUND", message: `Projection ${JSON.stringify(input.projection)} is not running in this process` });
    }
    const run = projector.rebuild();
    // Failures are recorded in the projection's row and reported by rebuildProgress.
    run.done.catch(() => {});
    return run.progress;
  }),
});
