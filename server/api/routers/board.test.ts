import { TRPCError } from "@trpc/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCaller } from "@/server/api/root.ts";
import { createTRPCContext } from "@/server/api/trpc.ts";
import { emptyBoard, type BoardDocument } from "@/server/board/document.ts";
import { openTestStorage, testStorageKinds, type TestStorage } from "@/server/db/testing.ts";
import { templates } from "@/server/templates/index.ts";
import { BoardConflictError, INVALID_BOARD_MESSAGE } from "./board.ts";

function boardWithCommand(name: string): BoardDocument {
  return {
    ...emptyBoard(),
    nodes: [{ id: "cmd-1", type: "command", position: { x: 10, y: 20 }, data: { name, description: "", schema: { type: "object", properties: {}, required: [] } } }],
  };
}

async function rejection(promise: Promise<unknown>): Promise<TRPCError> {
  const error = await promise.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(TRPCError);
  return error as TRPCError;
}

describe.each(testStorageKinds)("board router on %s", (kind) => {
  let storage: TestStorage;
  let caller: ReturnType<typeof createCaller>;

  beforeAll(async () => {
    storage = await openTestStorage(kind);
    caller = createCaller(createTRPCContext({ headers: new Headers(), storage }));
  });
  afterAll(() => storage.dispose());

  it("creates a blank board, gets it, and lists boards by last edit with a name search", async () => {
    const first = await caller.board.create({ name: "Order flow" });
    const second = await caller.board.create({ name: "Payments", description: "money moves" });
    const fetched = await caller.board.get({ id: first.id });
    expect(fetched).toMatchObject({ name: "Order flow", revision: 1, document: emptyBoard() });

    await caller.board.save({ id: first.id, baseRevision: 1, document: boardWithCommand("PlaceOrder") });
    const listed = await caller.board.list({});
    expect(listed.map((board) => board.id).slice(0, 2)).toEqual([first.id, second.id]);
    expect((await caller.board.list({ search: "PAY" })).map((board) => board.name)).toEqual(["Payments"]);
    expect(await caller.board.list({ search: "nothing like this" })).toEqual([]);
  });

  it("creates a board from a template and refuses an unknown template", async () => {
    const template = templates[0]!;
    const created = await caller.board.create({ name: "From template", templateId: template.id });
    const fetched = await caller.board.get({ id: created.id });
    expect(fetched.templateId).toBe(template.id);
    expect(fetched.document.nodes.length).toBe(template.board.nodes.length);
    expect((await rejection(caller.board.create({ name: "x", templateId: "no-such-template" }))).code).toBe("NOT_FOUND");
    const listedTemplates = await caller.board.templates();
    expect(listedTemplates.map((entry) => entry.id)).toEqual(templates.map((entry) => entry.id));
  });

  it("rejects blank names through zod", async () => {
    const error = await rejection(caller.board.create({ name: "   " }));
    expect(error.code).toBe("BAD_REQUEST");
  });

  it("renames and duplicates a board with its document", async () => {
    const board = await caller.board.create({ name: "Before" });
    await caller.board.save({ id: board.id, baseRevision: 1, document: boardWithCommand("Register") });
    const renamed = await caller.board.rename({ id: board.id, name: "After" });
    expect(renamed.name).toBe("After");
    const copy = await caller.board.duplicate({ id: board.id });
    expect(copy.id).not.toBe(board.id);
    expect(copy.name).toBe("After (copy)");
    expect((await caller.board.get({ id: copy.id })).document.nodes[0]?.data.name).toBe("Register");
  });

  it("soft-deletes a board, hides it, and restores it", async () => {
    const board = await caller.board.create({ name: "Doomed" });
    await caller.board.delete({ id: board.id });
    expect((await caller.board.list({})).some((entry) => entry.id === board.id)).toBe(false);
    expect((await rejection(caller.board.get({ id: board.id }))).code).toBe("NOT_FOUND");
    expect((await rejection(caller.board.delete({ id: board.id }))).code).toBe("NOT_FOUND");
    const row = await storage.prisma.board.findUniqueOrThrow({ where: { id: board.id } });
    expect(row.deletedAt).toBeInstanceOf(Date);

    await caller.board.restore({ id: board.id });
    expect((await caller.board.list({})).some((entry) => entry.id === board.id)).toBe(true);
    expect((await rejection(caller.board.restore({ id: board.id }))).code).toBe("NOT_FOUND");
  });

  it("saves with the base revision and refuses a stale save with the current revision and document", async () => {
    const board = await caller.board.create({ name: "Contested" });
    const mine = await caller.board.save({ id: board.id, baseRevision: 1, document: boardWithCommand("Mine") });
    expect(mine.revision).toBe(2);

    const error = await rejection(caller.board.save({ id: board.id, baseRevision: 1, document: boardWithCommand("Theirs") }));
    expect(error.code).toBe("CONFLICT");
    expect(error.cause).toBeInstanceOf(BoardConflictError);
    const conflict = error.cause as BoardConflictError;
    expect(conflict.revision).toBe(2);
    expect(conflict.document.nodes[0]?.data.name).toBe("Mine");
    expect(error.message).toContain("revision 2");

    const stored = await caller.board.get({ id: board.id });
    expect(stored.revision).toBe(2);
    expect(stored.document.nodes[0]?.data.name).toBe("Mine");
  });

  it("lets exactly one of two concurrent saves from the same revision win", async () => {
    const board = await caller.board.create({ name: "Race" });
    const results = await Promise.allSettled([
      caller.board.save({ id: board.id, baseRevision: 1, document: boardWithCommand("A") }),
      caller.board.save({ id: board.id, baseRevision: 1, document: boardWithCommand("B") }),
    ]);
    expect(results.filter((result) => result.status === "fulfilled")).toHaveLength(1);
    const refused = results.find((result) => result.status === "rejected");
    expect(((refused as PromiseRejectedResult).reason as TRPCError).code).toBe("CONFLICT");
    expect((await caller.board.get({ id: board.id })).revision).toBe(2);
  });

  it("refuses an invalid document on save and writes nothing", async () => {
    const board = await caller.board.create({ name: "Strict" });
    const broken = { ...emptyBoard(), edges: [{ id: "e1", source: "nowhere", target: "nobody" }] };
    const error = await rejection(caller.board.save({ id: board.id, baseRevision: 1, document: broken }));
    expect(error.code).toBe("BAD_REQUEST");
    expect(error.message.split("\n")).toEqual([INVALID_BOARD_MESSAGE, 'edges[0].source: no node "nowhere"', 'edges[0].target: no node "nobody"']);
    expect((await caller.board.get({ id: board.id })).revision).toBe(1);
  });

  it("exports a board and imports the file back as a new board", async () => {
    const board = await caller.board.create({ name: "Round trip", description: "there and back" });
    await caller.board.save({ id: board.id, baseRevision: 1, document: boardWithCommand("Ship") });
    const file = await caller.board.export({ id: board.id });
    expect(file).toMatchObject({ name: "Round trip", description: "there and back" });

    const imported = await caller.board.import({ file: JSON.parse(JSON.stringify(file)) });
    expect(imported.id).not.toBe(board.id);
    expect(imported.name).toBe("Round trip");
    expect((await caller.board.get({ id: imported.id })).document).toEqual(file.document);

    const renamed = await caller.board.import({ name: "Renamed on import", file });
    expect(renamed.name).toBe("Renamed on import");
  });

  it("rejects a malformed or hostile import with every problem listed, writing nothing", async () => {
    const before = await storage.prisma.board.count();
    let deep: Record<string, unknown> = { type: "string" };
    for (let level = 0; level < 600; level++) deep = { type: "array", items: deep };
    const hostile = {
        name: "Hostile",
        document: {
          schemaVersion: 1,
          nodes: [
            { id: "a", type: "command", position: { x: 0, y: 0 }, data: { name: "", schema: { type: "object", properties: { f: deep }, required: [] } } },
          ],
          edges: [],
        },
      };
    const deepError = await rejection(caller.board.import({ file: hostile }));
    expect(deepError.code).toBe("BAD_REQUEST");
    expect(deepError.message).toContain("nested more than");

    const polluted = JSON.parse('{"name":"P","document":{"schemaVersion":1,"nodes":[],"edges":[],"__proto__":{"admin":true}}}');
    expect((await rejection(caller.board.import({ file: polluted }))).message).toContain('document.__proto__: "__proto__" is not allowed');

    const malformed = {
      document: {
        schemaVersion: 1,
        nodes: [
          { id: "x", type: "sticky", position: { x: 0, y: 0 }, data: {} },
          { id: "y", type: "event", position: { x: "left", y: 0 }, data: { name: "Done" } },
        ],
        edges: [{ id: "e", source: "y", target: "ghost" }],
      },
    };
    const error = await rejection(caller.board.import({ file: malformed }));
    const problems = error.message.split("\n").slice(1);
    expect(problems[0]).toMatch(/^name: /);
    expect(problems.some((problem) => problem.startsWith("document.nodes[0].type"))).toBe(true);
    expect(problems.some((problem) => problem.startsWith("document.nodes[1].position.x"))).toBe(true);
    expect(problems.some((problem) => problem.startsWith("document.nodes[1].data.schema"))).toBe(true);

    expect((await rejection(caller.board.import({ file: "not even an object" }))).message).toContain("file: ");
    expect((await rejection(caller.board.import({ file: { name: "Future", document: { ...emptyBoard(), schemaVersion: 99 } } }))).message).toContain(
      "newer than this Sagaboard understands",
    );
    expect(await storage.prisma.board.count()).toBe(before);
  });

  it("accepts a bare document when the importer names it", async () => {
    const imported = await caller.board.import({ name: "Bare", file: boardWithCommand("Alone") });
    expect((await caller.board.get({ id: imported.id })).document.nodes[0]?.data.name).toBe("Alone");
  });

  it("keeps a document posted as a copy after a conflict", async () => {
    const copy = await caller.board.create({ name: "Mine (copy)", document: boardWithCommand("Kept") });
    expect((await caller.board.get({ id: copy.id })).document.nodes[0]?.data.name).toBe("Kept");
    expect((await rejection(caller.board.create({ name: "Both", templateId: templates[0]!.id, document: emptyBoard() }))).code).toBe("BAD_REQUEST");
  });
});
