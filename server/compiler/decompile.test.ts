import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { BoardDocument } from "../board/document.ts";
import { serializeDefinition, type ProcessDefinitionV1 } from "../definition/v1.ts";
import { templates } from "../templates/index.ts";
import { compileBoard, type ProcessMeta } from "./compile.ts";
import { specArbitrary } from "./synthetic-arbitrary.ts";
import { decompileDefinition } from "./decompile.ts";
import { formatDiagnostic } from "./diagnostics.ts";
import { syntheticBoard } from "./synthetic-board.ts";

function compiled(board: BoardDocument, meta: ProcessMeta): ProcessDefinitionV1 {
  const { definition, diagnostics } = compileBoard(board, meta);
  if (!definition) throw new Error(`does not compile:\n${diagnostics.map(formatDiagnostic).join("\n")}`);
  return definition;
}

/** Nodes that share a parent must not overlap, and children must lie inside their context. */
function layoutProblems(board: BoardDocument): string[] {
  const problems: string[] = [];
  const byId = new Map(board.nodes.map((node) => [node.id, node]));
  const box = (node: BoardDocument["nodes"][number]) => ({ x: node.position.x, y: node.position.y, width: node.width ?? 0, height: node.height ?? 0 });
  const siblings = new Map<string, BoardDocument["nodes"]>();
  for (const node of board.nodes) {
    if (!node.width || !node.height) problems.push(`${node.id} has no size`);
    const key = node.parentId ?? "";
    siblings.set(key, [...(siblings.get(key) ?? []), node]);
    const parent = node.parentId ? byId.get(node.parentId) : undefined;
    if (parent) {
      const inner = box(node);
      const outer = box(parent);
      if (inner.x < 0 || inner.y < 0 || inner.x + inner.width > outer.width || inner.y + inner.height > outer.height) problems.push(`${node.id} sticks out of ${parent.id}`);
    }
  }
  for (const group of siblings.values()) {
    for (let i = 0; i < group.length; i++) {
      for (let j = i + 1; j < group.length; j++) {
        const a = box(group[i] as BoardDocument["nodes"][number]);
        const b = box(group[j] as BoardDocument["nodes"][number]);
        if (a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height) problems.push(`${group[i]?.id} overlaps ${group[j]?.id}`);
      }
    }
  }
  return problems;
}

describe("decompileDefinition", () => {
  it.each(templates)("export → import → export gives the same $id definition, laid out", async (template) => {
    const definition = compiled(template.board, { id: template.id, name: template.name, description: template.description });
    const { board, meta } = await decompileDefinition(definition);
    expect(meta).toEqual({ id: template.id, name: template.name, description: template.description });
    expect(serializeDefinition(compiled(board, meta))).toBe(serializeDefinition(definition));
    expect(layoutProblems(board)).toEqual([]);
  });

  it("round-trips any generated board: board → definition → board → definition", async () => {
    await fc.assert(
      fc.asyncProperty(specArbitrary, async (spec) => {
        const definition = compiled(syntheticBoard(spec), { id: "synthetic", name: "Synthetic", description: "generated" });
        const { board, meta } = await decompileDefinition(definition);
        expect(serializeDefinition(compiled(board, meta))).toBe(serializeDefinition(definition));
        expect(layoutProblems(board)).toEqual([]);
      }),
      { numRuns: 25 },
    );
  });

  it("lays causality out left to right inside a context", async () => {
    const template = templates.find((item) => item.id === "user-registration");
    const { board } = await decompileDefinition(compiled(template?.board as BoardDocument, { id: "users", name: "Users" }));
    const x = (id: string) => board.nodes.find((node) => node.id === id)?.position.x ?? Number.NaN;
    expect(x("register-user")).toBeLessThan(x("user"));
    expect(x("user")).toBeLessThan(x("user-registered"));
    expect(x("user-registered")).toBeLessThan(x("user-directory"));
  });
});
