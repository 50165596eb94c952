/**
 * Process definitions as documents: compile the saved board, compare two published versions,
 * export a version (or the current compilation) as definition JSON or AsyncAPI, and import a
 * definition as a new, laid-out board.
 */
import { randomUUID } from "node:crypto";
import { TRPCError } from "@trpc/server";
import { z } from "zod";
import { createTRPCRouter, publicProcedure } from "@/server/api/trpc.ts";
import { migrateBoardDocument } from "@/server/board/migrations.ts";
import { toAsyncApi } from "@/server/compiler/asyncapi.ts";
import { compileBoard } from "@/server/compiler/compile.ts";
import { decompileDefinition } from "@/server/compiler/decompile.ts";
import { diffDefinitions, formatDiff } from "@/server/compiler/diff.ts";
import type { Storage } from "@/server/db/storage.ts";
import { DefinitionFormatError, parseDefinition, type ProcessDefinitionV1 } from "@/server/definition/v1.ts";

const boardId = z.string().min(1).max(100);
const versionNumber = z.number().int().min(1);
const boardName = z.string().trim().min(1, "a name is required").max(120, "at most 120 characters");

export const INVALID_DEFINITION_MESSAGE = "The process definition is not valid:";

async function savedBoard(storage: Storage, id: string) {
  const board = await storage.prisma.board.findFirst({ where: { id, deletedAt: null } });
  if (!board) throw new TRPCError({ code: "NOT_FOUND", message: "There is no such board (it may have been deleted)." });
  return board;
}

async function compileSaved(storage: Storage, id: string) {
  const board = await savedBoard(storage, id);
  return compileBoard(migrateBoardDocument(board.document), { id: board.id, name: board.name, description: board.description });
}

async function publishedDefinition(storage: Storage, id: string, version: number): Promise<ProcessDefinitionV1> {
  const { rows } = await storage.sql.query<{ definition: ProcessDefinitionV1 | string }>(`SELECT definition FROM process_versions WHERE board_id = $1 AND version = $2`, [id, version]);
  const row = rows[0];
  if (!row) throw new TRPCError({ code: "NOT_FOUND", message: `Board ${id} has no version ${version}.` });
  return typeof row.definition === "string" ? (JSON.parse(row.definition) as ProcessDefinitionV1) : row.definition;
}

/** A published version when one is named, else the saved board compiled now (refused while it has errors). */
async function definitionFor(storage: Storage, id: string, version: number | undefined): Promise<ProcessDefinitionV1> {
  if (version !== undefined) return publishedDefinition(storage, id, version);
  const compiled = await compileSaved(storage, id);
  if (!compiled.definition) {
    const errors = compiled.diagnostics.filter((item) => item.severity === "error");
    throw new TRPCError({ code: "PRECONDITION_FAILED", message: [`The board has ${errors.length} error${errors.length === 1 ? "" : "s"}; fix them first:`, ...errors.map((item) => `${item.code} ${item.message}`)].join("\n") });
  }
  return compiled.definition;
}

export const definitionRouter = createTRPCRouter({
  /** Diagnostics of the saved board, and its definition when it has no error. */
  compile: publicProcedure.input(z.object({ boardId })).query(({ ctx, input }) => compileSaved(ctx.storage, input.boardId)),

  diff: publicProcedure.input(z.object({ boardId, from: versionNumber, to: versionNumber })).query(async ({ ctx, input }) => {
    const [before, after] = await Promise.all([publishedDefinition(ctx.storage, input.boardId, input.from), publishedDefinition(ctx.storage, input.boardId, input.to)]);
    const diff = diffDefinitions(before, after);
    return { ...diff, text: formatDiff(diff) };
  }),

  exportDefinition: publicProcedure
    .input(z.object({ boardId, version: versionNumber.optional() }))
    .query(({ ctx, input }) => definitionFor(ctx.storage, input.boardId, input.version)),

  asyncapi: publicProcedure.input(z.object({ boardId, version: versionNumber.optional() })).query(async ({ ctx, input }) => {
    const definition = await definitionFor(ctx.storage, input.boardId, input.version);
    return toAsyncApi(definition, input.version !== undefined ? { version: `${input.version}.0.0` } : {});
  }),

  /** A definition from elsewhere becomes a new board, laid out; nothing is written when it is not valid. */
  importDefinition: publicProcedure.input(z.object({ name: boardName.optional(), definition: z.unknown() })).mutation(async ({ ctx, input }) => {
    let definition: ProcessDefinitionV1;
    try {
      definition = parseDefinition(input.definition);
    } catch (error) {
      if (!(error instanceof DefinitionFormatError)) throw error;
      // One problem per line so that the client can list all of them.
      throw new TRPCError({ code: "BAD_REQUEST", message: [INVALID_DEFINITION_MESSAGE, ...error.problems].join("\n"), cause: error });
    }
    const imported = await decompileDefinition(definition);
    const now = new Date();
    return ctx.storage.prisma.board.create({
      data: {
        id: randomUUID(),
        name: (input.name ?? imported.meta.name).slice(0, 120),
        description: imported.meta.description,
        templateId: null,
        schemaVersion: imported.board.schemaVersion,
        document: imported.board as object,
        revision: 1,
        createdAt: now,
        updatedAt: now,
      },
      select: { id: true, name: true, description: true, revision: true },
    });
  }),
});
