import { describe, expect, it } from "vitest";
import { BOARD_SCHEMA_VERSION, emptyBoard } from "./document.ts";
import { BoardDocumentError, MAX_BOARD_NESTING, migrateBoardDocument, untrustedShapeProblems } from "./migrations.ts";

function problemsOf(input: unknown): string[] {
  try {
    migrateBoardDocument(input);
  } catch (error) {
    expect(error).toBeInstanceOf(BoardDocumentError);
    return (error as BoardDocumentError).problems;
  }
  throw new Error("expected the document to be refused");
}

const command = (id: string, extra: Record<string, unknown> = {}) => ({
  id,
  type: "command",
  position: { x: 0, y: 0 },
  data: { name: `Cmd ${id}`, schema: { type: "object", properties: {} } },
  ...extra,
});

describe("board document validation and migration", () => {
  it("accepts the current version and fills defaults", () => {
    const doc = migrateBoardDocument({ schemaVersion: BOARD_SCHEMA_VERSION, nodes: [command("a")], edges: [] });
    expect(doc.nodes[0]).toMatchObject({ data: { description: "", schema: { required: [] } } });
    expect(doc.process.stuckAfterMs).toBe(300_000);
  });

  it("refuses what is not a board object, and versions it cannot read", () => {
    expect(problemsOf(null)).toEqual(["the file is not a board: expected a JSON object"]);
    expect(problemsOf([])).toEqual(["the file is not a board: expected a JSON object"]);
    expect(problemsOf({ nodes: [] })).toEqual(["schemaVersion: expected a whole number ≥ 1"]);
    expect(problemsOf({ ...emptyBoard(), schemaVersion: BOARD_SCHEMA_VERSION + 1 })[0]).toContain("newer than this Sagaboard understands");
  });

  it("lists every schema problem with its path", () => {
    const problems = problemsOf({
      schemaVersion: 1,
      nodes: [command("a", { position: { x: "1", y: 0 } }), { id: "b", type: "event", position: { x: 0, y: 0 }, data: { name: "  " } }],
      edges: [],
    });
    expect(problems).toContain("nodes[0].position.x: Invalid input: expected number, received string");
    expect(problems.some((problem) => problem.startsWith("nodes[1].data.name: name must not be empty"))).toBe(true);
    expect(problems.some((problem) => problem.startsWith("nodes[1].data.schema"))).toBe(true);
  });

  it("reports broken references: duplicate ids, missing edge ends, parents that are not contexts", () => {
    const problems = problemsOf({
      schemaVersion: 1,
      nodes: [command("a"), command("a"), command("c", { parentId: "a" }), command("d", { parentId: "ghost" })],
      edges: [
        { id: "e", source: "a", target: "zzz" },
        { id: "e", source: "a", target: "c" },
      ],
    });
    expect(problems).toEqual([
      'nodes[1].id: "a" is used twice',
      'nodes[2].parentId: "a" is a command, not a context',
      'nodes[3].parentId: no node "ghost"',
      'edges[0].target: no node "zzz"',
      'edges[1].id: "e" is used twice',
    ]);
  });

  it("refuses nesting deeper than any board needs instead of overflowing the stack", () => {
    let deep: Record<string, unknown> = { type: "string" };
    for (let level = 0; level < 2000; level++) deep = { type: "array", items: deep };
    const problems = problemsOf({ schemaVersion: 1, nodes: [command("a", { data: { name: "X", schema: { type: "object", properties: { f: deep } } } })], edges: [] });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain(`nested more than ${MAX_BOARD_NESTING} levels deep`);
  });

  it("refuses prototype keys anywhere", () => {
    const input = JSON.parse('{"schemaVersion":1,"nodes":[],"edges":[],"viewport":{"constructor":{"prototype":{}}, "x":0,"y":0,"zoom":1}}');
    expect(untrustedShapeProblems(input)).toEqual(['viewport.constructor: "constructor" is not allowed as a name']);
    expect(problemsOf(JSON.parse('{"__proto__":{"polluted":1},"schemaVersion":1,"nodes":[],"edges":[]}'))).toEqual(['__proto__: "__proto__" is not allowed as a name']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
