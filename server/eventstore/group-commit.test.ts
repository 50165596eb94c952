import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Sql } from "../db/sql.ts";
import { openTestStorage, type TestStorage } from "../db/testing.ts";
import { ConcurrencyError, createEventStore, type EventStore } from "./index.ts";

/** Counts the append statements that reach the database. */
function countingSql(sql: Sql): Sql & { appendStatements: number; appendsPerStatement: number[] } {
  const counting = {
    ...sql,
    appendStatements: 0,
    appendsPerStatement: [] as number[],
    async query<Row>(text: string, params?: readonly unknown[]) {
      if (text.includes("eventstore_append(")) {
        counting.appendStatements += 1;
        counting.appendsPerStatement.push((params?.[0] as unknown[]).length);
      }
      return sql.query<Row>(text, params);
    },
  };
  return counting;
}

describe("group commit on pglite", () => {
  let storage: TestStorage;
  let sql: ReturnType<typeof countingSql>;
  let store: EventStore;
  beforeEach(async () => {
    storage = await openTestStorage("pglite");
    sql = countingSql(storage.sql);
    store = createEventStore(sql);
  });
  afterEach(async () => {
    await store.close();
    await storage.dispose();
  });

  it("merges appends that arrive while a write is in flight into shared statements", async () => {
    const results = await Promise.all(Array.from({ length: 64 }, (_, i) => store.append(`s-${i}`, [{ type: "E", data: { i } }])));
    expect(new Set(results.flatMap((r) => r.positions)).size).toBe(64);
    expect(sql.appendStatements).toBeLessThanOrEqual(2);
    expect(sql.appendsPerStatement.reduce((a, b) => a + b, 0)).toBe(64);
    for (let i = 0; i < 64; i += 1) {
      expect((await store.readStream(`s-${i}`)).events.map((e) => e.data)).toEqual([{ i }]);
    }
  });

  it("keeps merging while appenders keep arriving, so statements stay fewer than appends", async () => {
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async (_, worker) => {
        for (let k = 0; k < 20; k += 1) await store.append(`w-${worker}`, [{ type: "E", data: { n: next++ } }]);
      }),
    );
    expect(sql.appendsPerStatement.reduce((a, b) => a + b, 0)).toBe(320);
    expect(sql.appendStatements).toBeLessThan(320 / 4);
    for (let worker = 0; worker < 16; worker += 1) expect((await store.readStream(`w-${worker}`)).version).toBe(20);
  });

  it("fails a conflicting append alone; the others in the same statement commit", async () => {
    await store.append("shared", [{ type: "Created", data: {} }]);
    sql.appendStatements = 0;
    const attempts = await Promise.allSettled([
      store.append("a", [{ type: "E", data: {} }]),
      store.append("shared", [{ type: "Stale", data: {} }], { expectedVersion: 0 }),
      store.append("shared", [{ type: "Fresh", data: {} }], { expectedVersion: 1 }),
      store.append("shared", [{ type: "AlsoStale", data: {} }], { expectedVersion: 1 }),
      store.append("b", [{ type: "E", data: {} }], { expectedVersion: "no_stream" }),
    ]);
    expect(sql.appendStatements).toBe(1);
    expect(attempts.map((a) => a.status)).toEqual(["fulfilled", "rejected", "fulfilled", "rejected", "fulfilled"]);
    const stale = (attempts[3] as PromiseRejectedResult).reason as ConcurrencyError;
    expect(stale).toBeInstanceOf(ConcurrencyError);
    expect(stale.actual).toBe(2);
    expect((await store.readStream("shared")).events.map((e) => e.type)).toEqual(["Created", "Fresh"]);
  });

  it("confines a payload the database refuses to its own append", async () => {
    const attempts = await Promise.allSettled([
      store.append("ok-1", [{ type: "E", data: {} }]),
      // A lone surrogate survives JSON.stringify but not PostgreSQL's jsonb parser.
      store.append("bad", [{ type: "E", data: { text: "\ud800" } }]),
      store.append("ok-2", [{ type: "E", data: {} }]),
    ]);
    expect(attempts.map((a) => a.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    expect(String((attempts[1] as PromiseRejectedResult).reason)).toMatch(/invalid input syntax for type json/);
    expect((await store.readStream("ok-2")).version).toBe(1);
    await expect(store.readStream("bad")).rejects.toMatchObject({ code: "not_found" });
  });

  it("treats a repeated message id within one merged statement as a retry", async () => {
    const event = { type: "E", data: {}, metadata: { messageId: "once" } };
    const [first, second] = await Promise.all([store.append("dup", [event]), store.append("dup", [event])]);
    expect(second!.positions).toEqual(first!.positions);
    expect([first!.duplicate, second!.duplicate].sort()).toEqual([false, true]);
    expect((await store.readStream("dup")).version).toBe(1);
  });
});
