import { describe, expect, it } from "vitest";
import { cellText, columnsOf, valueAt } from "./read-model-columns.ts";

describe("read model columns", () => {
  it("takes every field any row has, nested objects as dot paths, in order of first appearance", () => {
    const rows = [
      { data: { name: "Widget", sku: "W-1", stock: { count: 3 } } },
      { data: { name: "Gadget", lastUpdated: "2026-11-23", tags: ["new"], stock: { count: 0, warehouse: "north" } } },
    ];
    expect(columnsOf(rows).map((column) => column.path)).toEqual(["name", "sku", "stock.count", "lastUpdated", "tags", "stock.warehouse"]);
  });

  it("marks paths the server cannot sort or filter by", () => {
    const columns = columnsOf([{ data: { "unit price": 3, total: 9 } }]);
    expect(columns).toEqual([
      { path: "unit price", queryable: false },
      { path: "total", queryable: true },
    ]);
  });

  it("shows a row that is not an object as one value column", () => {
    expect(columnsOf([{ data: 42 }])).toEqual([{ path: "", queryable: false }]);
    expect(valueAt(42, "")).toBe(42);
  });

  it("reads values by path and writes cells as text", () => {
    const data = { stock: { count: 0 }, tags: ["a", "b"], note: "<b>bold</b>" };
    expect(valueAt(data, "stock.count")).toBe(0);
    expect(valueAt(data, "stock.missing")).toBeUndefined();
    expect(cellText(valueAt(data, "tags"))).toBe('["a","b"]');
    expect(cellText(valueAt(data, "note"))).toBe("<b>bold</b>");
    expect(cellText(undefined)).toBe("");
    expect(cellText(null)).toBe("null");
  });
});
