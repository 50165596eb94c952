/**
 * The runtime over tRPC: publish and deploy versions, start instances, send events and commands,
 * list and inspect instances, operate the dead-letter queue, set context faults. Runtime errors
 * become tRPC errors; a payload that does not match its schema is BAD_REQUEST with one violation
 * per line after the first (and all of them in `cause.violations`).
 */
import { TRPCError } from "@trpc/server";
import { z } from "zod";
import { createTRPCRouter, publicProcedure } from "@/server/api/trpc.ts";
import { asRuntimeError, getRuntime, type Runtime } from "@/server/runtime/index.ts";
import type { Storage } from "@/server/db/storage.ts";

const boardId = z.string().min(1).max(100);
const messageName = z.string().min(1).max(200);
const messageId = z.string().min(1).max(400);
const versionNumber = z.number().int().min(1);
const outboxId = z.number().int().min(1);
const payload = z.record(z.string(), z.unknown());
const instanceStatus = z.enum(["running", "completed", "failed", "compensating", "compensated", "stuck"]);

export const INVALID_PAYLOAD_MESSAGE = "The payload is not valid:";

const trpcCodes = {
  invalid_payload: "BAD_REQUEST",
  publish_refused: "BAD_REQUEST",
  invalid_request: "BAD_REQUEST",
  not_found: "NOT_FOUND",
  not_deployed: "PRECONDITION_FAILED",
  conflict: "CONFLICT",
} as const;

function toTRPCError(error: unknown): never {
  const known = asRuntimeError(error);
  if (!known) throw error;
  switch (known.code) {
    case "invalid_payload":
      throw new TRPCError({ code: "BAD_REQUEST", message: [`${INVALID_PAYLOAD_MESSAGE} ${(error as { messageName?: string }).messageName ?? "message"}`, ...(known.violations ?? [])].join("\n"), cause: error });
    case "publish_refused":
      throw new TRPCError({ code: "BAD_REQUEST", message: [`Board ${(error as { boardId?: string }).boardId ?? ""} cannot be published:`, ...(known.problems ?? [])].join("\n"), cause: error });
    default:
      throw new TRPCError({ code: trpcCodes[known.code], message: known.message, cause: error });
  }
}

async function withRuntime<T>(storage: Storage, run: (runtime: Runtime) => Promise<T>): Promise<T> {
  try {
    return await run(getRuntime(storage));
  } catch (error) {
    toTRPCError(error);
  }
}

export const runtimeRouter = createTRPCRouter({
  /** Compiles the stored board and publishes it as the next version (or returns the newest when unchanged). */
  publish: publicProcedure.input(z.object({ boardId })).mutation(({ ctx, input }) => withRuntime(ctx.storage, (runtime) => runtime.publishBoard(input.boardId))),

  versions: publicProcedure.input(z.object({ boardId })).query(({ ctx, input }) => withRuntime(ctx.storage, (runtime) => runtime.listVersions(input.boardId))),

  deploy: publicProcedure
    .input(z.object({ boardId, version: versionNumber }))
    .mutation(({ ctx, input }) => withRuntime(ctx.storage, (runtime) => runtime.deploy(input.boardId, input.version))),

  undeploy: publicProcedure
    .input(z.object({ boardId, version: versionNumber }))
    .mutation(({ ctx, input }) => withRuntime(ctx.storage, (runtime) => runtime.undeploy(input.boardId, input.version))),

  /** Starts an instance of the deployed version with its start event's payload. */
  start: publicProcedure
    .input(z.object({ boardId, processId: z.string().min(1).max(100).optional(), event: messageName.optional(), payload, messageId: messageId.optional() }))
    .mutation(({ ctx, input }) => withRuntime(ctx.storage, (runtime) => runtime.start(input))),

  sendEvent: publicProcedure
    .input(z.object({ boardId, name: messageName, payload, messageId: messageId.optional(), correlationId: messageId.optional(), causationId: messageId.optional() }))
    .mutation(({ ctx, input }) => withRuntime(ctx.storage, (runtime) => runtime.sendEvent(input))),

  sendCommand: publicProcedure
    .input(z.object({ boardId, name: messageName, payload, messageId: messageId.optional(), correlationId: messageId.optional(), causationId: messageId.optional() }))
    .mutation(({ ctx, input }) => withRuntime(ctx.storage, (runtime) => runtime.sendCommand(input))),

  commandOutcome: publicProcedure.input(z.object({ messageId })).query(({ ctx, input }) => withRuntime(ctx.storage, (runtime) => runtime.commandOutcome(input.messageId))),

  instances: publicProcedure
    .input(
      z.object({
        boardId: boardId.optional(),
        versionId: z.string().min(1).max(120).optional(),
        processId: z.string().min(1).max(100).optional(),
        status: instanceStatus.optional(),
        correlationKey: z.string().min(1).max(400).optional(),
        correlationId: messageId.optional(),
        cursor: z.string().min(1).max(2000).optional(),
        limit: z.number().int().min(1).max(200).default(50),
      }),
    )
    .query(({ ctx, input }) => withRuntime(ctx.storage, (runtime) => runtime.listInstances(input))),

  /** State, history (the instance's own stream), pending commands and timers. */
  instance: publicProcedure.input(z.object({ instanceId: z.string().min(1).max(1000) })).query(({ ctx, input }) => withRuntime(ctx.storage, (runtime) => runtime.getInstance(input.instanceId))),

  deadLetters: createTRPCRouter({
    list: publicProcedure
      .input(z.object({ boardId: boardId.optional(), after: z.number().int().min(0).optional(), limit: z.number().int().min(1).max(200).default(50) }))
      .query(({ ctx, input }) => withRuntime(ctx.storage, (runtime) => runtime.listDeadLetters(input))),
    get: publicProcedure.input(z.object({ id: outboxId })).query(({ ctx, input }) => withRuntime(ctx.storage, (runtime) => runtime.getDeadLetter(input.id))),
    redrive: publicProcedure.input(z.object({ id: outboxId })).mutation(({ ctx, input }) => withRuntime(ctx.storage, (runtime) => runtime.redrive(input.id))),
    discard: publicProcedure.input(z.object({ id: outboxId })).mutation(({ ctx, input }) => withRuntime(ctx.storage, (runtime) => runtime.discard(input.id))),
  }),

  contexts: createTRPCRouter({
    list: publicProcedure.input(z.object({ boardId })).query(({ ctx, input }) => withRuntime(ctx.storage, (runtime) => runtime.contextSettings(input.boardId))),
    update: publicProcedure
      .input(
        z.object({
          boardId,
          contextId: z.string().min(1).max(100),
          down: z.boolean().optional(),
          latencyMs: z.number().int().min(0).max(60_000).optional(),
          failureRate: z.number().min(0).max(1).optional(),
          duplicateDeliveries: z.number().int().min(0).max(4).optional(),
          webhookUrl: z.url({ protocol: /^https?$/ }).max(2000).nullable().optional(),
          webhookSecret: z.string().min(1).max(200).nullable().optional(),
        }),
      )
      .mutation(({ ctx, input }) => {
        const { boardId: board, contextId, ...patch } = input;
        return withRuntime(ctx.storage, (runtime) => runtime.updateContextSettings(board, contextId, patch));
      }),
  }),
});
