import { describe, expect, it } from "vitest";
import { canRedo, canUndo, COALESCE_MS, emptyHistory, HISTORY_LIMIT, record, redo, undo } from "./history.ts";

describe("undo/redo history", () => {
  it("undoes and redoes in order, and a new change clears redo", () => {
    let history = emptyHistory<string>();
    history = record(history, "a", { at: 0 });
    history = record(history, "b", { at: 10_000 });
    let present = "c";
    const first = undo(history, present)!;
    expect(first.present).toBe("b");
    const second = undo(first.history, first.present)!;
    expect(second.present).toBe("a");
    expect(undo(second.history, second.present)).toBeUndefined();
    const again = redo(second.history, second.present)!;
    expect(again.present).toBe("b");
    expect(canRedo(again.history)).toBe(true);
    history = record(again.history, again.present, { at: 20_000 });
    present = "d";
    expect(canRedo(history)).toBe(false);
    expect(undo(history, present)!.present).toBe("b");
  });

  it("collapses quick edits with the same key into one step, but not different keys or slow ones", () => {
    let history = emptyHistory<string>();
    history = record(history, "", { key: "name", at: 0 });
    history = record(history, "P", { key: "name", at: 200 });
    history = record(history, "Pl", { key: "name", at: 400 });
    expect(history.past).toEqual([""]);
    history = record(history, "Pla", { key: "description", at: 500 });
    expect(history.past).toEqual(["", "Pla"]);
    history = record(history, "Plac", { key: "description", at: 500 + COALESCE_MS + 1 });
    expect(history.past).toEqual(["", "Pla", "Plac"]);
    history = record(history, "x", { at: 10_000 });
    history = record(history, "y", { at: 10_001 });
    expect(history.past.slice(-2)).toEqual(["x", "y"]);
  });

  it("keeps at most HISTORY_LIMIT steps, dropping the oldest", () => {
    let history = emptyHistory<number>();
    for (let step = 0; step < HISTORY_LIMIT + 25; step++) history = record(history, step, { at: step * 10_000 });
    expect(history.past).toHaveLength(HISTORY_LIMIT);
    expect(history.past[0]).toBe(25);
    expect(canUndo(history)).toBe(true);
  });
});
