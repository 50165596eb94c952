import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { appendToStream, readStream } from "../eventstore/index.ts";
import { coalesce, SharedTransactions } from "./shared-transactions.ts";
import type { Sql } from "./sql.ts";
import { openTestStorage, testStorageKinds, type TestStorage } from "./testing.ts";

/** Counts the transactions and the append statements that reach the database. */
function countingSql(sql: Sql): Sql & { transactions: number; appendStatements: number } {
  const counting: Sql & { transactions: number; appendStatements: number } = {
    ...sql,
    transactions: 0,
    appendStatements: 0,
    transaction(body) {
      counting.transactions += 1;
      return sql.transaction((tx) =>
        body({
          query(text, params) {
            if (text.includes("eventstore_append(")) counting.appendStatements += 1;
            return tx.query(text, params);
          },
          exec: (text) => tx.exec(text),
          write: (text, params, mapError) => tx.write(text, params, mapError),
        }),
      );
    },
  };
  return counting;
}

describe.each(testStorageKinds)("shared transactions on %s", (kind) => {
  let storage: TestStorage;
  let sql: ReturnType<typeof countingSql>;
  let shared: SharedTransactions;

  beforeEach(async () => {
    storage = await openTestStorage(kind);
    sql = countingSql(storage.sql);
    shared = new SharedTransactions(sql);
    await storage.sql.exec(`CREATE TABLE shared_test (key TEXT PRIMARY KEY, body INT NOT NULL)`);
  });
  afterEach(() => storage.dispose());

  const keys = async () => (await storage.sql.query<{ key: string }>(`SELECT key FROM shared_test ORDER BY key`)).rows.map((row) => row.key);

  it("runs bodies submitted together in one transaction, each getting its own result", async () => {
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, index) =>
        shared.transaction(async (tx) => {
          await tx.query(`INSERT INTO shared_test (key, body) VALUES ($1, $2)`, [`k${index}`, index]);
          const { rows } = await tx.query<{ body: number }>(`SELECT body FROM shared_test WHERE key = $1`, [`k${index}`]);
          return rows[0]!.body * 10;
        }),
      ),
    );
    expect(results).toEqual([0, 10, 20, 30, 40, 50]);
    expect(sql.transactions).toBe(1);
    expect(shared.stats).toEqual({ groups: 1, bodies: 6, fallbacks: 0 });
    expect(await keys()).toEqual(["k0", "k1", "k2", "k3", "k4", "k5"]);
  });

  it("confines a failing body to its own caller: the others commit, nothing of it is written", async () => {
    const outcomes = await Promise.allSettled(
      ["a", "b", "c"].map((key) =>
        shared.transaction(async (tx) => {
          await tx.query(`INSERT INTO shared_test (key, body) VALUES ($1, 1)`, [key]);
          if (key === "b") throw new Error("body b refuses");
          return key;
        }),
      ),
    );
    expect(outcomes.map((outcome) => (outcome.status === "fulfilled" ? outcome.value : (outcome.reason as Error).message))).toEqual(["a", "body b refuses", "c"]);
    expect(await keys()).toEqual(["a", "c"]);
    // The shared attempt rolled back; then each body ran alone.
    expect(shared.stats.fallbacks).toBe(1);
    expect(sql.transactions).toBe(4);
  });

  it("runs every body alone again when the shared COMMIT fails, so only the body at fault fails", async () => {
    await storage.sql.exec(`CREATE TABLE shared_deferred (key TEXT NOT NULL, CONSTRAINT shared_deferred_key UNIQUE (key) DEFERRABLE INITIALLY DEFERRED)`);
    const outcomes = await Promise.allSettled(
      ["x", "x", "y"].map((key, index) =>
        shared.transaction(async (tx) => {
          await tx.query(`INSERT INTO shared_deferred (key) VALUES ($1)`, [key]);
          return index;
        }),
      ),
    );
    const fulfilled = outcomes.flatMap((outcome) => (outcome.status === "fulfilled" ? [outcome.value] : []));
    const rejected = outcomes.flatMap((outcome) => (outcome.status === "rejected" ? [String((outcome.reason as Error).message)] : []));
    expect(fulfilled).toHaveLength(2);
    expect(fulfilled).toContain(2);
    expect(rejected).toHaveLength(1);
    expect(rejected[0]).toMatch(/shared_deferred_key/);
    const { rows } = await storage.sql.query<{ key: string }>(`SELECT key FROM shared_deferred ORDER BY key`);
    expect(rows.map((row) => row.key)).toEqual(["x", "y"]);
    expect(shared.stats.fallbacks).toBe(1);
  });

  it("merges the bodies' appends into one statement and answers each with its own stream's result", async () => {
    const results = await Promise.all(
      ["s-1", "s-2", "s-3", "s-4"].map((streamId, index) =>
        shared.transaction((tx) => appendToStream(tx, streamId, [{ type: "Noted", data: { index } }, { type: "Noted", data: { index, second: true } }], { expectedVersion: "no_stream" })),
      ),
    );
    expect(sql.appendStatements).toBe(1);
    expect(results.map((result) => [result.streamId, result.nextExpectedVersion])).toEqual([
      ["s-1", 2],
      ["s-2", 2],
      ["s-3", 2],
      ["s-4", 2],
    ]);
    for (const [index, streamId] of ["s-1", "s-2", "s-3", "s-4"].entries()) {
      expect((await readStream(storage.sql, streamId)).events.map((event) => event.data)).toEqual([{ index }, { index, second: true }]);
    }
  });

  it("fails only the body whose append conflicts; the others' appends commit", async () => {
    await appendToStream(storage.sql, "taken", [{ type: "Noted", data: {} }]);
    const outcomes = await Promise.allSettled(
      ["free-1", "taken", "free-2"].map((streamId) => shared.transaction((tx) => appendToStream(tx, streamId, [{ type: "Noted", data: { streamId } }], { expectedVersion: "no_stream" }))),
    );
    expect(outcomes.map((outcome) => outcome.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    expect(((outcomes[1] as PromiseRejectedResult).reason as Error).name).toBe("ConcurrencyError");
    expect((await readStream(storage.sql, "taken")).events).toHaveLength(1);
    expect((await readStream(storage.sql, "free-1")).events).toHaveLength(1);
    expect((await readStream(storage.sql, "free-2")).events).toHaveLength(1);
  });
});

describe("coalesce", () => {
  it("runs an input alone outside a shared transaction", async () => {
    const storage = await openTestStorage("pglite");
    try {
      const calls: number[][] = [];
      const run = async (inputs: number[]) => {
        calls.push(inputs);
        return inputs.map((input) => input * 2);
      };
      expect(await Promise.all([coalesce(storage.sql, "double", 1, run), coalesce(storage.sql, "double", 2, run)])).toEqual([2, 4]);
      expect(calls).toEqual([[1], [2]]);
    } finally {
      await storage.dispose();
    }
  });

  it("merges inputs of one kind issued in the same tick of a shared transaction, in order, and fails them together", async () => {
    const storage = await openTestStorage("pglite");
    try {
      const shared = new SharedTransactions(storage.sql);
      const calls: string[][] = [];
      const run = async (inputs: string[]) => {
        calls.push(inputs);
        if (inputs.includes("bad")) throw new Error("refused: bad");
        return inputs.map((input) => input.toUpperCase());
      };
      const results = await Promise.all(["a", "b", "c"].map((input) => shared.transaction((tx) => coalesce(tx, "upper", input, run))));
      expect(results).toEqual(["A", "B", "C"]);
      expect(calls).toEqual([["a", "b", "c"]]);

      calls.length = 0;
      const outcomes = await Promise.allSettled(["d", "bad"].map((input) => shared.transaction((tx) => coalesce(tx, "upper", input, run))));
      // Merged, the statement fails for both; each body then runs alone, and only the bad one fails.
      expect(calls).toEqual([["d", "bad"], ["d"], ["bad"]]);
      expect(outcomes.map((outcome) => outcome.status)).toEqual(["fulfilled", "rejected"]);
    } finally {
      await storage.dispose();
    }
  });
});
