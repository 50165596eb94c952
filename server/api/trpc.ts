/**
 * The one tRPC initialisation. Every router builds on `createTRPCRouter` and `publicProcedure`;
 * every input is a zod schema, and a zod failure reaches the client flattened in
 * `error.data.zodError` (field → messages).
 */
import { initTRPC } from "@trpc/server";
import superjson from "superjson";
import { z, ZodError } from "zod";
import { getProcessStorage } from "@/server/db/process-storage.ts";
import type { Storage } from "@/server/db/storage.ts";

export interface TRPCContextOptions {
  headers: Headers;
  /** Tests pass their own store; the app uses the process-wide one. */
  storage?: Storage;
}

export function createTRPCContext(options: TRPCContextOptions) {
  return { headers: options.headers, storage: options.storage ?? getProcessStorage() };
}
export type TRPCContext = ReturnType<typeof createTRPCContext>;

const t = initTRPC.context<TRPCContext>().create({
  transformer: superjson,
  errorFormatter({ shape, error }) {
    return {
      ...shape,
      data: {
        ...shape.data,
        zodError: error.cause instanceof ZodError ? z.flattenError(error.cause) : null,
      },
    };
  },
  sse: {
    ping: { enabled: true, intervalMs: 15_000 },
    client: { reconnectAfterInactivityMs: 20_000 },
  },
});

export const createCallerFactory = t.createCallerFactory;
export const createTRPCRouter = t.router;
export const publicProcedure = t.procedure;
