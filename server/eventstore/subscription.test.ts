import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { storageFromPostgres } from "../db/storage.ts";
import { openTestStorage, testStorageKinds, type TestStorage } from "../db/testing.ts";
import { appendToStream, createEventStore, type EventStore, type RecordedEvent } from "./index.ts";

async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<number> {
  const started = Date.now();
  while (!(await condition())) {
    if (Date.now() - started > timeoutMs) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return Date.now() - started;
}

/** Tracks timers created by the event store's own code (not the database driver's) until they fire or are cleared. */
function trackStoreTimers() {
  const live = new Set<unknown>();
  const originalSet = globalThis.setTimeout;
  const originalClear = globalThis.clearTimeout;
  const fromStore = () => /server\/eventstore\/(?!.*\.test\.ts)[\w-]+\.ts/.test(new Error().stack ?? "");
  globalThis.setTimeout = ((callback: (...args: unknown[]) => void, ms?: number, ...args: unknown[]) => {
    const tracked = fromStore();
    const handle = originalSet(
      (...callbackArgs: unknown[]) => {
        live.delete(handle);
        callback(...callbackArgs);
      },
      ms,
      ...args,
    );
    if (tracked) live.add(handle);
    return handle;
  }) as typeof setTimeout;
  globalThis.clearTimeout = ((handle?: Parameters<typeof clearTimeout>[0]) => {
    live.delete(handle);
    originalClear(handle);
  }) as typeof clearTimeout;
  return {
    get live() {
      return live.size;
    },
    restore() {
      globalThis.setTimeout = originalSet;
      globalThis.clearTimeout = originalClear;
    },
  };
}

describe.each(testStorageKinds)("subscriptions on %s", (kind) => {
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

  it("catches up, then goes live, with no gap and no duplicate at the switch", async () => {
    for (let i = 0; i < 30; i += 1) await store.append(`pre-${i % 3}`, [{ type: "Before", data: { i } }]);
    const received: RecordedEvent[] = [];
    let batches = 0;
    const subscription = store.subscribe(
      async (events) => {
        batches += 1;
        received.push(...events);
        // A slow handler: appends keep committing while the subscription is busy.
        await new Promise((resolve) => setTimeout(resolve, 3));
      },
      { batchSize: 7 },
    );
    await Promise.all(
      Array.from({ length: 5 }, async (_, writer) => {
        for (let k = 0; k < 10; k += 1) await store.append(`live-${writer}`, [{ type: "During", data: { writer, k } }]);
      }),
    );
    await waitFor(() => received.length >= 80);
    await new Promise((resolve) => setTimeout(resolve, 50));
    await subscription.close();

    const log = [];
    for (let after = 0; ; ) {
      const page = await store.readLog({ after, limit: 1000 });
      if (page.events.length === 0) break;
      log.push(...page.events);
      after = page.lastPosition;
    }
    expect(received.map((e) => e.position)).toEqual(log.map((e) => e.position));
    expect(received).toHaveLength(80);
    expect(batches).toBeGreaterThan(80 / 7);
    expect(subscription.lastPosition).toBe(log[log.length - 1]!.position);
  });

  it("starts at the end, filters by type, and resumes after a position", async () => {
    await store.append("s", [{ type: "Old", data: {} }]);
    const fromEnd: string[] = [];
    const onlyB: string[] = [];
    const endSubscription = store.subscribe((events) => void fromEnd.push(...events.map((e) => e.type)), { after: "end" });
    const typeSubscription = store.subscribe((events) => void onlyB.push(...events.map((e) => e.type)), { filter: { types: ["B"] } });
    await waitFor(async () => (await store.headPosition()) > 0);
    await new Promise((resolve) => setTimeout(resolve, 30));
    const appended = await store.append("s", [
      { type: "A", data: {} },
      { type: "B", data: {} },
      { type: "C", data: {} },
    ]);
    await waitFor(() => fromEnd.length === 3 && onlyB.length === 1);
    expect(fromEnd).toEqual(["A", "B", "C"]);
    expect(onlyB).toEqual(["B"]);

    const resumed: string[] = [];
    const resumedSubscription = store.subscribe((events) => void resumed.push(...events.map((e) => e.type)), {
      after: appended.positions[0]!,
    });
    await waitFor(() => resumed.length === 2);
    expect(resumed).toEqual(["B", "C"]);
    await Promise.all([endSubscription.close(), typeSubscription.close(), resumedSubscription.close()]);
  });

  it("sees appends made in a caller's transaction by polling, or at once when announced", async () => {
    const fast = createEventStore(storage.sql, { pollIntervalMs: 100 });
    const seen: string[] = [];
    const subscription = fast.subscribe((events) => void seen.push(...events.map((e) => e.type)));
    await storage.sql.transaction((tx) => appendToStream(tx, "tx", [{ type: "Polled", data: {} }]));
    const polledAfter = await waitFor(() => seen.length === 1, 5000);
    expect(polledAfter).toBeLessThan(2000);
    await subscription.close();
    await fast.close();

    const slow = createEventStore(storage.sql, { pollIntervalMs: 60_000 });
    const announced: string[] = [];
    const slowSubscription = slow.subscribe((events) => void announced.push(...events.map((e) => e.type)), { after: "end" });
    await new Promise((resolve) => setTimeout(resolve, 50));
    await storage.sql.transaction((tx) => appendToStream(tx, "tx", [{ type: "Announced", data: {} }]));
    slow.announce();
    expect(await waitFor(() => announced.length === 1, 5000)).toBeLessThan(2000);
    expect(announced).toEqual(["Announced"]);
    await slowSubscription.close();
    await slow.close();
  });

  it("leaves no timer behind after close, and reports a failing handler", async () => {
    const timers = trackStoreTimers();
    try {
      const subscriptions = Array.from({ length: 5 }, () => store.subscribe(() => {}, { pollIntervalMs: 10_000 }));
      await waitFor(() => timers.live === 5);
      await Promise.all(subscriptions.map((s) => s.close()));
      await Promise.all(subscriptions.map((s) => s.done));
      expect(timers.live).toBe(0);

      await store.append("boom", [{ type: "Boom", data: {} }]);
      const failing = store.subscribe(() => {
        throw new Error("handler failed");
      });
      await expect(failing.done).rejects.toThrow("handler failed");
      expect(failing.isClosed).toBe(true);
      // The append's NOTIFY (PostgreSQL) may wait up to notifyIntervalMs; nothing may stay armed.
      await waitFor(() => timers.live === 0, 2000);
    } finally {
      timers.restore();
    }
  });
});

describe.each(testStorageKinds.filter((kind) => kind === "postgresql"))("subscriptions across processes on %s", (kind) => {
  it("hear another process's appends through LISTEN/NOTIFY, long before the poll interval", async () => {
    const storage = await openTestStorage(kind);
    const { rows } = await storage.sql.query<{ schema: string }>(`SELECT current_schema() AS schema`);
    // A second pool on the same schema stands in for another Sagaboard process.
    const other = storageFromPostgres(process.env.TEST_DATABASE_URL!, { schema: rows[0]!.schema, poolSize: 2 });
    const writer = createEventStore(storage);
    const listener = createEventStore(other, { pollIntervalMs: 60_000 });
    try {
      const seen: number[] = [];
      const subscription = listener.subscribe((events) => void seen.push(...events.map((e) => e.position)));
      // The first event arrives once the listener is connected (it reads once on connecting);
      // with a 60 s poll interval nothing else could deliver it within the wait.
      const first = await writer.append("remote", [{ type: "Remote", data: { i: 0 } }]);
      await waitFor(() => seen.includes(first.positions[0]!), 10_000);
      const latencies: number[] = [];
      for (let i = 1; i <= 5; i += 1) {
        const { positions } = await writer.append("remote", [{ type: "Remote", data: { i } }]);
        latencies.push(await waitFor(() => seen.includes(positions[0]!), 10_000));
      }
      expect(Math.max(...latencies)).toBeLessThan(2000);
      await subscription.close();
    } finally {
      await listener.close();
      await writer.close();
      await other.close();
      await storage.dispose();
    }
  });

  it("wake a reader with its own loop that listens for commits, until it stops listening", async () => {
    const storage = await openTestStorage(kind);
    const { rows } = await storage.sql.query<{ schema: string }>(`SELECT current_schema() AS schema`);
    const other = storageFromPostgres(process.env.TEST_DATABASE_URL!, { schema: rows[0]!.schema, poolSize: 2 });
    const writer = createEventStore(storage);
    const reader = createEventStore(other, { pollIntervalMs: 60_000 });
    try {
      const stopListening = reader.listenForCommits();
      // Appends until one is heard: the listener connects in the background.
      await waitFor(async () => {
        const generation = reader.changeGeneration;
        await writer.append("remote", [{ type: "Remote", data: {} }]);
        await reader.waitForChange(generation, 200);
        return reader.changeGeneration !== generation;
      }, 10_000);
      stopListening();
      const generation = reader.changeGeneration;
      await writer.append("remote", [{ type: "Remote", data: {} }]);
      await reader.waitForChange(generation, 500);
      expect(reader.changeGeneration).toBe(generation);
    } finally {
      await reader.close();
      await writer.close();
      await other.close();
      await storage.dispose();
    }
  });
});
