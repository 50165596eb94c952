import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { openTestStorage, testStorageKinds, type TestStorage } from "../db/testing.ts";
import type { EventStore } from "../eventstore/index.ts";
import { LiveHub } from "./hub.ts";
import type { LiveSubscription, SubscriptionItem } from "./live-subscription.ts";
import { closeLiveHub, getLiveHub, processEventStore } from "./process-hub.ts";

async function nextEvent(subscription: LiveSubscription): Promise<SubscriptionItem> {
  for (;;) {
    const item = await subscription.next();
    if (item.kind !== "heartbeat") return item;
  }
}

async function waitFor(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > timeoutMs) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe.each(testStorageKinds)("the live hub on %s", (kind) => {
  let storage: TestStorage;
  let store: EventStore;
  let hub: LiveHub;

  beforeEach(async () => {
    storage = await openTestStorage(kind);
    hub = getLiveHub(storage, { lingerMs: 20 });
    store = processEventStore(storage);
  });

  afterEach(async () => {
    await closeLiveHub(storage);
    await storage.dispose();
  });

  it("is one per storage in the process", () => {
    expect(getLiveHub(storage)).toBe(hub);
    expect(getLiveHub({ sql: storage.sql })).toBe(hub);
  });

  it("stops reading the log after the last subscription leaves, and starts again for the next", async () => {
    const first = await hub.open({ name: "all", selector: { kind: "all" }, after: null });
    expect(hub.stats().running).toBe(true);
    first.close({ reason: "client" });
    await waitFor(() => !hub.stats().running);
    const second = await hub.open({ name: "all", selector: { kind: "all" }, after: null });
    const { positions } = await store.append("S", [{ type: "AfterRestart", data: {} }]);
    const item = await nextEvent(second);
    expect(item.kind === "event" && item.event.event.position).toBe(positions[0]);
    second.close({ reason: "client" });
  });

  it("recovers from a failed start: the next subscriber starts it afresh", async () => {
    const query = store.sql.query.bind(store.sql);
    let failedOnce = false;
    vi.spyOn(store.sql, "query").mockImplementation((text: string, params?: readonly unknown[]) => {
      if (!failedOnce && text.includes("ORDER BY e.transaction_id DESC")) {
        failedOnce = true;
        return Promise.reject(new Error("database unreachable"));
      }
      return query(text, params) as never;
    });
    await expect(hub.open({ name: "all", selector: { kind: "all" }, after: null })).rejects.toThrow("database unreachable");
    const subscription = await hub.open({ name: "all", selector: { kind: "all" }, after: null });
    await store.append("S", [{ type: "Recovered", data: {} }]);
    const item = await nextEvent(subscription);
    expect(item.kind === "event" && item.event.event.type).toBe("Recovered");
    subscription.close({ reason: "client" });
  });

  it("ends every subscription with `failed` when the log reader dies, and restarts for the next", async () => {
    const subscriptions = await Promise.all([
      hub.open({ name: "all", selector: { kind: "all" }, after: null }),
      hub.open({ name: "stream-S", selector: { kind: "stream", streamId: "S" }, after: null }),
    ]);
    const query = store.sql.query.bind(store.sql);
    const failing = vi.spyOn(store.sql, "query").mockImplementation((text: string, params?: readonly unknown[]) => {
      if (text.includes("ORDER BY e.transaction_id, e.position LIMIT")) return Promise.reject(new Error("connection lost"));
      return query(text, params) as never;
    });
    await store.append("S", [{ type: "Lost", data: {} }]);
    for (const subscription of subscriptions) {
      const item = await nextEvent(subscription);
      expect(item).toEqual({ kind: "end", end: { reason: "failed", message: "the live log reader stopped: connection lost" } });
    }
    expect(hub.stats()).toMatchObject({ subscriptions: 0, running: false });
    failing.mockRestore();
    const again = await hub.open({ name: "all", selector: { kind: "all" }, after: null });
    await store.append("S", [{ type: "Back", data: {} }]);
    const item = await nextEvent(again);
    expect(item.kind === "event" && item.event.event.type).toBe("Back");
    again.close({ reason: "client" });
  });

  it("sees appends made through another event store of the process by its poll", async () => {
    const { createEventStore } = await import("../eventstore/index.ts");
    const other = createEventStore(storage);
    const subscription = await hub.open({ name: "all", selector: { kind: "all" }, after: null });
    await other.append("Elsewhere", [{ type: "Polled", data: {} }]);
    const item = await nextEvent(subscription);
    expect(item.kind === "event" && item.event.event.type).toBe("Polled");
    subscription.close({ reason: "client" });
    await other.close();
  });

  it("paces fan-outs with many connections: an event after a quiet spell goes at once, a burst together", async () => {
    await closeLiveHub(storage);
    hub = getLiveHub(storage, { pacingMicrosPerSubscription: 1_000_000, maxPacingMs: 1000 });
    const subscription = await hub.open({ name: "all", selector: { kind: "all" }, after: null });
    const batches: { at: number; types: string[] }[] = [];
    subscription.onReadable(() => {
      const types: string[] = [];
      for (let event = subscription.poll(); event; event = subscription.poll()) types.push(event.event.type);
      if (types.length > 0) batches.push({ at: performance.now(), types });
    });
    await store.append("S", [{ type: "First", data: {} }]);
    await waitFor(() => batches.length === 1);
    for (const type of ["Second", "Third", "Fourth"]) await store.append("S", [{ type, data: {} }]);
    await waitFor(() => batches.flatMap((batch) => batch.types).length === 4);
    expect(batches.map((batch) => batch.types)).toEqual([["First"], ["Second", "Third", "Fourth"]]);
    expect(batches[1]!.at - batches[0]!.at).toBeGreaterThanOrEqual(990);
    subscription.close({ reason: "client" });
  });

  it("ends its subscriptions with `closed` when it closes", async () => {
    const subscription = await hub.open({ name: "all", selector: { kind: "all" }, after: null });
    await hub.close();
    expect(await subscription.next()).toEqual({ kind: "end", end: { reason: "closed" } });
    await expect(hub.open({ name: "all", selector: { kind: "all" }, after: null })).rejects.toThrow("closed");
  });
});
