import { randomUUID } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openTestStorage, testStorageKinds, type TestStorage } from "../db/testing.ts";
import { appendToStream, createEventStore, type EventStore, type RecordedEvent } from "./index.ts";

describe.each(testStorageKinds)("reading on %s", (kind) => {
  let storage: TestStorage;
  let store: EventStore;
  beforeEach(async () => {
    storage = await openTestStorage(kind);
    store = createEventStore(storage);
  });
  afterEach(async () => {
    await store.close();
    await storage.dispose();
  });

  it("reads a stream forward and backward from a version, with a limit", async () => {
    await store.append("s", Array.from({ length: 10 }, (_, i) => ({ type: "Step", data: { i: i + 1 } })));
    const forward = await store.readStream("s", { fromVersion: 4, limit: 3 });
    expect(forward.version).toBe(10);
    expect(forward.events.map((e) => e.streamVersion)).toEqual([4, 5, 6]);
    const backward = await store.readStream("s", { direction: "backward", limit: 3 });
    expect(backward.events.map((e) => e.streamVersion)).toEqual([10, 9, 8]);
    const backwardFrom = await store.readStream("s", { direction: "backward", fromVersion: 2 });
    expect(backwardFrom.events.map((e) => e.streamVersion)).toEqual([2, 1]);
    expect((await store.readStream("s", { fromVersion: 11 })).events).toEqual([]);
  });

  it("pages through the global log, and filters by context, correlation and type", async () => {
    for (let i = 0; i < 25; i += 1) {
      await store.append(`stream-${i % 4}`, [
        {
          type: i % 3 === 0 ? "Fizz" : "Plain",
          data: { i },
          metadata: { context: i % 2 === 0 ? "Even" : "Odd", correlationId: `flow-${i % 5}` },
        },
      ]);
    }
    const seen: RecordedEvent[] = [];
    let after = 0;
    for (;;) {
      const page = await store.readLog({ after, limit: 7 });
      if (page.events.length === 0) {
        expect(page.lastPosition).toBe(after);
        break;
      }
      seen.push(...page.events);
      after = page.lastPosition;
    }
    expect(seen.map((e) => (e.data as { i: number }).i)).toEqual(Array.from({ length: 25 }, (_, i) => i));
    expect(await store.headPosition()).toBe(seen[24]!.position);
    expect(await store.countAfter(seen[19]!.position)).toBe(5);

    const odd = await store.readByContext("Odd");
    expect(odd.events.map((e) => (e.data as { i: number }).i)).toEqual([1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23]);
    const flow = await store.readByCorrelation("flow-2", { after: seen[2]!.position });
    expect(flow.events.map((e) => (e.data as { i: number }).i)).toEqual([7, 12, 17, 22]);
    const fizz = await store.readByType(["Fizz"], { limit: 3 });
    expect(fizz.events.map((e) => (e.data as { i: number }).i)).toEqual([0, 3, 6]);
    const rest = await store.readByType("Fizz", { after: fizz.lastPosition });
    expect(rest.events.map((e) => (e.data as { i: number }).i)).toEqual([9, 12, 15, 18, 21, 24]);
    expect(await store.countAfter(0, { types: ["Fizz"], context: "Even" })).toBe(5);
  });
});

// Concurrency proves nothing on PGlite (one connection): these run against PostgreSQL only.
describe.each(testStorageKinds.filter((kind) => kind === "postgresql"))("the xid horizon on %s", (kind) => {
  let storage: TestStorage;
  let store: EventStore;
  beforeEach(async () => {
    storage = await openTestStorage(kind);
    store = createEventStore(storage);
  });
  afterEach(async () => {
    await store.close();
    await storage.dispose();
  });

  /** Runs `body` in a transaction that stays open until the returned `commit` is called. */
  async function openTransaction(body: (tx: Parameters<Parameters<TestStorage["sql"]["transaction"]>[0]>[0]) => Promise<void>) {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let ready!: () => void;
    const readyPromise = new Promise<void>((resolve) => (ready = resolve));
    const finished = storage.sql.transaction(async (tx) => {
      await body(tx);
      ready();
      await released;
    });
    await readyPromise;
    return {
      commit: async () => {
        release();
        await finished;
      },
    };
  }

  it("holds back a later position until an earlier, slower transaction commits", async () => {
    const slow = await openTransaction(async (tx) => {
      await appendToStream(tx, "slow", [{ type: "Slow", data: {} }]);
    });
    const fast = await store.append("fast", [{ type: "Fast", data: {} }]);
    // A naive position-ordered read already sees the fast event past the slow one's hole...
    const naive = await storage.sql.query<{ position: number }>(`SELECT position FROM events ORDER BY position`);
    expect(naive.rows.map((r) => r.position)).toEqual([fast.positions[0]]);
    // ...the log does not, so a reader cannot move past the slow event.
    expect((await store.readLog()).events).toEqual([]);
    await slow.commit();
    const log = await store.readLog();
    expect(log.events.map((e) => e.type)).toEqual(["Slow", "Fast"]);
    expect(log.events[0]!.position).toBeLessThan(log.events[1]!.position);
  });

  it("keeps a stream in version order when its later event comes from an older transaction", async () => {
    await store.append("acct", [{ type: "Opened", data: {} }]);
    // The older transaction takes its id first (e.g. writing an outbox row), then appends last.
    let appendLater!: () => void;
    const later = new Promise<void>((resolve) => (appendLater = resolve));
    const older = storage.sql.transaction(async (tx) => {
      await tx.query(`SELECT pg_current_xact_id()`);
      await later;
      await appendToStream(tx, "acct", [{ type: "Closed", data: {} }], { expectedVersion: 2 });
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    await store.append("acct", [{ type: "Deposited", data: {} }], { expectedVersion: 1 });
    expect((await store.readLog()).events.map((e) => e.type)).toEqual(["Opened"]);
    appendLater();
    await older;
    const log = await store.readLog();
    expect(log.events.map((e) => [e.type, e.streamVersion])).toEqual([
      ["Opened", 1],
      ["Deposited", 2],
      ["Closed", 3],
    ]);
  });

  it("gives a position-following reader exactly the committed events under concurrent writers with random commit delays", async () => {
    const writers = 12;
    const transactionsPerWriter = 12;
    const streams = ["a", "b", "c", "d", "e"];
    const committed = new Set<string>();
    let writing = true;

    const read: RecordedEvent[] = [];
    const reader = (async () => {
      let after = 0;
      for (;;) {
        const stillWriting = writing;
        const page = await store.readLog({ after, limit: 17 });
        read.push(...page.events);
        after = page.lastPosition;
        if (page.events.length === 0) {
          if (!stillWriting) return;
          await new Promise((resolve) => setTimeout(resolve, 2));
        }
      }
    })();

    await Promise.all(
      Array.from({ length: writers }, async (_, writer) => {
        for (let t = 0; t < transactionsPerWriter; t += 1) {
          const ids = Array.from({ length: 1 + ((writer + t) % 3) }, () => randomUUID());
          const rollBack = (writer * 7 + t) % 9 === 0;
          try {
            await storage.sql.transaction(async (tx) => {
              await appendToStream(
                tx,
                streams[(writer + t) % streams.length]!,
                ids.map((messageId) => ({ type: "Written", data: { writer, t }, metadata: { messageId } })),
              );
              await tx.query(`SELECT pg_sleep($1)`, [Math.random() * 0.04]);
              if (rollBack) throw new Error("rolled back on purpose");
            });
            for (const id of ids) committed.add(id);
          } catch (error) {
            if (!rollBack) throw error;
          }
        }
      }),
    );
    writing = false;
    await reader;

    const readIds = read.map((e) => e.metadata.messageId);
    expect(new Set(readIds).size).toBe(readIds.length);
    expect(new Set(readIds)).toEqual(committed);
    const versionsByStream = new Map<string, number[]>();
    for (const event of read) versionsByStream.set(event.streamId, [...(versionsByStream.get(event.streamId) ?? []), event.streamVersion]);
    for (const versions of versionsByStream.values()) {
      expect(versions).toEqual(Array.from({ length: versions.length }, (_, i) => i + 1));
    }
    // Rolled-back transactions left holes in the positions, which the reader passed without waiting.
    const positions = read.map((e) => e.position).sort((x, y) => x - y);
    expect(positions[positions.length - 1]! - positions[0]! + 1).toBeGreaterThan(positions.length);
  });
});
