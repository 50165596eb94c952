/**
 * Boards: the documents the process designer edits. Every save names the revision it was based
 * on; a save against a newer revision is refused (CONFLICT) rather than overwriting someone
 * else's work. Deletion is soft so that it can be undone.
 */
import { randomUUID } from "node:crypto";
import { TRPCError } from "@trpc/server";
import { z } from "zod";
import { createTRPCRouter, publicProcedure } from "@/server/api/trpc.ts";
import { emptyBoard, type BoardDocument } from "@/server/board/document.ts";
import { readBoardFile, type BoardFile } from "@/server/board/file.ts";
import { BoardDocumentError, migrateBoardDocument } from "@/server/board/migrations.ts";
import type { Storage } from "@/server/db/storage.ts";
import { findTemplate, templates } from "@/server/templates/index.ts";

const boardId = z.string().min(1).max(100);
const boardName = z.string().trim().min(1, "a name is required").max(120, "at most 120 characters");
const boardDescription = z.string().max(4000);

/** Thrown as the cause of a CONFLICT: what the board holds now, so the client can offer a choice. */
export class BoardConflictError extends Error {
  override name = "BoardConflictError";
  constructor(
    readonly revision: number,
    readonly document: BoardDocument,
  ) {
    super(`This board was changed elsewhere; it is now at revision ${revision}.`);
  }
}

/** Thrown as the cause of a BAD_REQUEST for a document or file that is not a valid board. */
export const INVALID_BOARD_MESSAGE = "The board is not valid:";
function invalidBoard(error: unknown): never {
  if (error instanceof BoardDocumentError) {
    // One problem per line so that the client can list all of them.
    throw new TRPCError({ code: "BAD_REQUEST", message: [INVALID_BOARD_MESSAGE, ...error.problems].join("\n"), cause: error });
  }
  throw error;
}

function validDocument(input: unknown): BoardDocument {
  try {
    return migrateBoardDocument(input);
  } catch (error) {
    invalidBoard(error);
  }
}

const summarySelect = { id: true, name: true, description: true, templateId: true, revision: true, createdAt: true, updatedAt: true } as const;

async function liveBoard(storage: Storage, id: string) {
  const board = await storage.prisma.board.findFirst({ where: { id, deletedAt: null } });
  if (!board) throw new TRPCError({ code: "NOT_FOUND", message: "There is no such board (it may have been deleted)." });
  return board;
}

/** Stored documents are trusted but may be of an older schema version. */
function storedDocument(document: unknown): BoardDocument {
  return migrateBoardDocument(document);
}

async function insertBoard(storage: Storage, fields: { name: string; description: string; templateId?: string | null; document: BoardDocument }) {
  const now = new Date();
  return storage.prisma.board.create({
    data: {
      id: randomUUID(),
      name: fields.name,
      description: fields.description,
      templateId: fields.templateId ?? null,
      schemaVersion: fields.document.schemaVersion,
      document: fields.document as object,
      revision: 1,
      createdAt: now,
      updatedAt: now,
    },
    select: summarySelect,
  });
}

export const boardRouter = createTRPCRouter({
  list: publicProcedure.input(z.object({ search: z.string().max(120).default("") }).default({ search: "" })).query(({ ctx, input }) => {
    const search = input.search.trim();
    return ctx.storage.prisma.board.findMany({
      where: { deletedAt: null, ...(search ? { name: { contains: search, mode: "insensitive" } } : {}) },
      orderBy: [{ updatedAt: "desc" }, { id: "asc" }],
      select: summarySelect,
      take: 500,
    });
  }),

  templates: publicProcedure.query(() =>
    templates.map((template) => ({
      id: template.id,
      name: template.name,
      description: template.description,
      nodeCount: template.board.nodes.length,
      contexts: template.board.nodes.filter((node) => node.type === "context").map((node) => node.data.name),
    })),
  ),

  get: publicProcedure.input(z.object({ id: boardId })).query(async ({ ctx, input }) => {
    const board = await liveBoard(ctx.storage, input.id);
    return {
      id: board.id,
      name: board.name,
      description: board.description,
      templateId: board.templateId,
      revision: board.revision,
      createdAt: board.createdAt,
      updatedAt: board.updatedAt,
      document: storedDocument(board.document),
    };
  }),

  create: publicProcedure
    .input(
      z.object({
        name: boardName,
        description: boardDescription.default(""),
        templateId: z.string().max(100).optional(),
        /** A whole document, e.g. "keep mine as a copy" after a conflict. */
        document: z.unknown().optional(),
      }),
    )
    .mutation(async ({ ctx, input }) => {
      if (input.templateId !== undefined && input.document !== undefined) {
        throw new TRPCError({ code: "BAD_REQUEST", message: "Give a template or a document, not both." });
      }
      let document = emptyBoard();
      if (input.templateId !== undefined) {
        const template = findTemplate(input.templateId);
        if (!template) throw new TRPCError({ code: "NOT_FOUND", message: `There is no template "${input.templateId}".` });
        document = structuredClone(template.board);
      } else if (input.document !== undefined) {
        document = validDocument(input.document);
      }
      return insertBoard(ctx.storage, { name: input.name, description: input.description, templateId: input.templateId, document });
    }),

  rename: publicProcedure
    .input(z.object({ id: boardId, name: boardName, description: boardDescription.optional() }))
    .mutation(async ({ ctx, input }) => {
      const { count } = await ctx.storage.prisma.board.updateMany({
        where: { id: input.id, deletedAt: null },
        data: { name: input.name, ...(input.description !== undefined ? { description: input.description } : {}), updatedAt: new Date() },
      });
      if (count === 0) throw new TRPCError({ code: "NOT_FOUND", message: "There is no such board (it may have been deleted)." });
      return ctx.storage.prisma.board.findUniqueOrThrow({ where: { id: input.id }, select: summarySelect });
    }),

  duplicate: publicProcedure.input(z.object({ id: boardId, name: boardName.optional() })).mutation(async ({ ctx, input }) => {
    const source = await liveBoard(ctx.storage, input.id);
    return insertBoard(ctx.storage, {
      name: input.name ?? `${source.name} (copy)`.slice(0, 120),
      description: source.description,
      templateId: source.templateId,
      document: storedDocument(source.document),
    });
  }),

  delete: publicProcedure.input(z.object({ id: boardId })).mutation(async ({ ctx, input }) => {
    const { count } = await ctx.storage.prisma.board.updateMany({ where: { id: input.id, deletedAt: null }, data: { deletedAt: new Date() } });
    if (count === 0) throw new TRPCError({ code: "NOT_FOUND", message: "There is no such board (it may have been deleted already)." });
    return { id: input.id };
  }),

  restore: publicProcedure.input(z.object({ id: boardId })).mutation(async ({ ctx, input }) => {
    const { count } = await ctx.storage.prisma.board.updateMany({ where: { id: input.id, deletedAt: { not: null } }, data: { deletedAt: null } });
    if (count === 0) throw new TRPCError({ code: "NOT_FOUND", message: "There is no deleted board with this id." });
    return ctx.storage.prisma.board.findUniqueOrThrow({ where: { id: input.id }, select: summarySelect });
  }),

  save: publicProcedure
    .input(z.object({ id: boardId, baseRevision: z.number().int().min(1), document: z.unknown() }))
    .mutation(async ({ ctx, input }) => {
      const document = validDocument(input.document);
      const updatedAt = new Date();
      // The revision check and the write are one statement, so two savers cannot both win.
      const { count } = await ctx.storage.prisma.board.updateMany({
        where: { id: input.id, revision: input.baseRevision, deletedAt: null },
        data: { document: document as object, schemaVersion: document.schemaVersion, revision: { increment: 1 }, updatedAt },
      });
      if (count === 1) return { id: input.id, revision: input.baseRevision + 1, updatedAt };
      const current = await liveBoard(ctx.storage, input.id);
      const conflict = new BoardConflictError(current.revision, storedDocument(current.document));
      throw new TRPCError({ code: "CONFLICT", message: conflict.message, cause: conflict });
    }),

  import: publicProcedure.input(z.object({ name: boardName.optional(), file: z.unknown() })).mutation(async ({ ctx, input }) => {
    let file: BoardFile;
    try {
      file = readBoardFile(input.file, input.name);
    } catch (error) {
      invalidBoard(error);
    }
    const { name, description, document } = file;
    return insertBoard(ctx.storage, { name, description, document });
  }),

  export: publicProcedure.input(z.object({ id: boardId })).query(async ({ ctx, input }) => {
    const board = await liveBoard(ctx.storage, input.id);
    return { name: board.name, description: board.description, document: storedDocument(board.document) };
  }),
});
