import { TRPCError } from "@trpc/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCaller } from "@/server/api/root.ts";
import { createTRPCContext } from "@/server/api/trpc.ts";
import { openTestStorage, type TestStorage } from "@/server/db/testing.ts";
import { INVALID_DEFINITION_MESSAGE } from "./definition.ts";

async function rejection(promise: Promise<unknown>): Promise<TRPCError> {
  const error = await promise.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(TRPCError);
  return error as TRPCError;
}

describe("definition router", () => {
  let storage: TestStorage;
  let caller: ReturnType<typeof createCaller>;
  let boardId: string;

  beforeAll(async () => {
    storage = await openTestStorage();
    caller = createCaller(createTRPCContext({ headers: new Headers(), storage }));
    boardId = (await caller.board.create({ name: "Quote", templateId: "insurance-quote" })).id;
  });
  afterAll(async () => {
    await storage.dispose();
  });

  it("compiles the saved board", async () => {
    const compiled = await caller.definition.compile({ boardId });
    expect(compiled.diagnostics.filter((item) => item.severity === "error")).toEqual([]);
    expect(compiled.definition?.name).toBe("Quote");
    expect(compiled.definition?.processManagers.length).toBeGreaterThan(0);
  });

  it("reports errors of a broken board and refuses to export it", async () => {
    const board = await caller.board.get({ id: boardId });
    const broken = await caller.board.create({ name: "Broken", document: { ...board.document, edges: [] } });
    const compiled = await caller.definition.compile({ boardId: broken.id });
    expect(compiled.definition).toBeUndefined();
    expect(compiled.diagnostics.some((item) => item.severity === "error")).toBe(true);
    const error = await rejection(caller.definition.exportDefinition({ boardId: broken.id }));
    expect(error.code).toBe("PRECONDITION_FAILED");
  });

  it("diffs two published versions and exports each as JSON and AsyncAPI", async () => {
    await caller.runtime.publish({ boardId });
    const board = await caller.board.get({ id: boardId });
    const event = board.document.nodes.find((node) => node.type === "event" && node.data.name === "RiskAssessed")!;
    const renamed = { ...board.document, nodes: board.document.nodes.map((node) => (node.id === event.id ? { ...node, data: { ...node.data, description: "The risk was scored." } } : node)) };
    await caller.board.save({ id: boardId, baseRevision: board.revision, document: renamed });
    const second = await caller.runtime.publish({ boardId });
    expect(second.version.version).toBe(2);

    const diff = await caller.definition.diff({ boardId, from: 1, to: 2 });
    expect(diff.counts).toEqual({ added: 0, removed: 0, changed: 1 });
    expect(diff.changes[0]).toMatchObject({ category: "messages", change: "changed", name: "RiskAssessed" });
    expect(diff.text).toContain("RiskAssessed");

    const first = await caller.definition.exportDefinition({ boardId, version: 1 });
    const latest = await caller.definition.exportDefinition({ boardId, version: 2 });
    expect(first.events.find((item) => item.name === "RiskAssessed")?.description).not.toBe("The risk was scored.");
    expect(latest.events.find((item) => item.name === "RiskAssessed")?.description).toBe("The risk was scored.");

    const asyncapi = await caller.definition.asyncapi({ boardId, version: 2 });
    expect(asyncapi.asyncapi).toBe("3.0.0");
    expect(asyncapi.info.version).toBe("2.0.0");
    expect(Object.values(asyncapi.components.messages).map((message) => message.name)).toContain("RiskAssessed");

    expect((await rejection(caller.definition.diff({ boardId, from: 1, to: 9 }))).code).toBe("NOT_FOUND");
  });

  it("imports a definition as a new board that compiles back to it", async () => {
    const definition = await caller.definition.exportDefinition({ boardId, version: 2 });
    const imported = await caller.definition.importDefinition({ name: "Imported quote", definition });
    expect(imported.name).toBe("Imported quote");
    const board = await caller.board.get({ id: imported.id });
    expect(board.document.nodes.length).toBeGreaterThan(5);
    const compiled = await caller.definition.compile({ boardId: imported.id });
    expect(compiled.definition?.events.map((event) => event.name).sort()).toEqual(definition.events.map((event) => event.name).sort());
  });

  it("refuses a malformed definition with every problem and writes nothing", async () => {
    const before = (await caller.board.list()).length;
    const error = await rejection(caller.definition.importDefinition({ definition: { formatVersion: 1, id: "", contexts: "nope" } }));
    expect(error.code).toBe("BAD_REQUEST");
    const lines = error.message.split("\n");
    expect(lines[0]).toBe(INVALID_DEFINITION_MESSAGE);
    expect(lines.length).toBeGreaterThan(3);
    expect(error.message).toContain("contexts");
    expect((await caller.board.list()).length).toBe(before);
  });

  it("validates its inputs", async () => {
    expect((await rejection(caller.definition.compile({ boardId: "" }))).code).toBe("BAD_REQUEST");
    expect((await rejection(caller.definition.diff({ boardId, from: 0, to: 1 }))).code).toBe("BAD_REQUEST");
    expect((await rejection(caller.definition.compile({ boardId: "missing" }))).code).toBe("NOT_FOUND");
  });
});
