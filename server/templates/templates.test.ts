import { describe, expect, it } from "vitest";
import { migrateBoardDocument } from "../board/migrations.ts";
import { compileBoard } from "../compiler/compile.ts";
import { formatDiagnostic } from "../compiler/diagnostics.ts";
import { computeTemplateLayouts } from "./generate-layouts.ts";
import { findTemplate, templates } from "./index.ts";
import { templateLayouts } from "./layouts.generated.ts";

describe("templates", () => {
  it("ship the required boards", () => {
    expect(templates.map((template) => template.id)).toEqual([
      "insurance-quote",
      "user-registration",
      "insurance-quote-choreography",
      "order-fulfilment",
      "product-catalog-cqrs",
      "batch-allocation",
    ]);
    expect(new Set(templates.map((template) => template.id)).size).toBe(templates.length);
    expect(findTemplate("insurance-quote")?.name).toBe("Application Premium Process");
    expect(findTemplate("no-such-template")).toBeUndefined();
  });

  it.each(templates)("$id is a valid board that compiles without errors or warnings", (template) => {
    expect(migrateBoardDocument(JSON.parse(JSON.stringify(template.board)))).toEqual(template.board);
    const { definition, diagnostics } = compileBoard(template.board, { id: template.id, name: template.name });
    expect(diagnostics.filter((item) => item.severity !== "info").map(formatDiagnostic)).toEqual([]);
    expect(definition).toBeDefined();
  });

  it.each(templates)("$id has every node placed and sized, contexts before their children", (template) => {
    const placement = templateLayouts[template.id] ?? {};
    const seen = new Set<string>();
    for (const node of template.board.nodes) {
      expect(placement[node.id], node.id).toBeDefined();
      expect(node.width && node.height, node.id).toBeTruthy();
      if (node.parentId) expect(seen.has(node.parentId), `${node.id} comes before its context`).toBe(true);
      seen.add(node.id);
    }
  });

  it("layouts.generated.ts is current (regenerate with: npx tsx server/templates/generate-layouts.ts)", async () => {
    expect(await computeTemplateLayouts()).toEqual(templateLayouts);
  });
});
