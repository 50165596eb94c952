import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openTestStorage, testStorageKinds, type TestStorage } from "../db/testing.ts";
import { createEventStore, dropSnapshots, NotFoundError, type EventStore, type RecordedEvent } from "./index.ts";

interface Account {
  balance: number;
  deposits: number;
}

describe.each(testStorageKinds)("aggregates and snapshots on %s", (kind) => {
  let storage: TestStorage;
  let store: EventStore;
  let folded = 0;
  const evolve = (state: Account, event: RecordedEvent): Account => {
    folded += 1;
    const amount = (event.data as { amount: number }).amount;
    return event.type === "Deposited"
      ? { balance: state.balance + amount, deposits: state.deposits + 1 }
      : { ...state, balance: state.balance - amount };
  };
  const options = { initialState: (): Account => ({ balance: 0, deposits: 0 }), evolve, snapshotEvery: 10, snapshotName: "account-v1" };
  const deposit = (amount: number) => ({ type: "Deposited", data: { amount } });

  beforeEach(async () => {
    storage = await openTestStorage(kind);
    store = createEventStore(storage);
    folded = 0;
  });
  afterEach(async () => {
    await store.close();
    await storage.dispose();
  });

  it("starts from the latest snapshot and folds only the later events", async () => {
    await store.append("acct", Array.from({ length: 25 }, (_, i) => deposit(i + 1)));
    const first = await store.aggregateStream("acct", options);
    expect(first).toMatchObject({ state: { balance: 325, deposits: 25 }, version: 25, snapshotVersion: 0, eventsFolded: 25 });

    folded = 0;
    const second = await store.aggregateStream("acct", options);
    expect(second).toMatchObject({ state: first.state, version: 25, snapshotVersion: 25, eventsFolded: 0 });
    expect(folded).toBe(0);

    await store.append("acct", [deposit(100), { type: "Withdrawn", data: { amount: 50 } }]);
    const third = await store.aggregateStream("acct", options);
    expect(third).toMatchObject({ state: { balance: 375, deposits: 26 }, version: 27, snapshotVersion: 25, eventsFolded: 2 });
    // Fewer than snapshotEvery versions since the snapshot: it stays where it was.
    const stored = await storage.sql.query<{ version: number }>(`SELECT version FROM snapshots WHERE stream_id = 'acct'`);
    expect(stored.rows).toEqual([{ version: 25 }]);

    await store.append("acct", Array.from({ length: 8 }, () => deposit(1)));
    const fourth = await store.aggregateStream("acct", options);
    expect(fourth).toMatchObject({ version: 35, snapshotVersion: 25, eventsFolded: 10 });
    expect((await storage.sql.query(`SELECT version FROM snapshots WHERE stream_id = 'acct'`)).rows).toEqual([{ version: 35 }]);
  });

  it("treats snapshots as a cache: dropped or renamed, the fold gives the same state", async () => {
    await store.append("acct", Array.from({ length: 30 }, (_, i) => deposit(i)));
    const cached = await store.aggregateStream("acct", options);
    await store.aggregateStream("acct", options);
    expect(await dropSnapshots(storage.sql, { streamId: "acct" })).toBe(1);
    folded = 0;
    const rebuilt = await store.aggregateStream("acct", options);
    expect(rebuilt.state).toEqual(cached.state);
    expect(rebuilt.snapshotVersion).toBe(0);
    expect(folded).toBe(30);

    folded = 0;
    const renamed = await store.aggregateStream("acct", { ...options, snapshotName: "account-v2" });
    expect(renamed).toMatchObject({ state: cached.state, snapshotVersion: 0 });
    expect(folded).toBe(30);
  });

  it("returns the initial state for an unknown stream unless it must exist", async () => {
    expect(await store.aggregateStream("nobody", options)).toMatchObject({ state: { balance: 0, deposits: 0 }, version: 0 });
    await expect(store.aggregateStream("nobody", { ...options, mustExist: true })).rejects.toBeInstanceOf(NotFoundError);
    await expect(store.aggregateStream("x", { ...options, snapshotEvery: 0 })).rejects.toThrow(/Invalid snapshotEvery 0/);
  });

  it("folds streams longer than one read page", async () => {
    for (let i = 0; i < 3; i += 1) await store.append("long", Array.from({ length: 1000 }, () => deposit(1)));
    await store.append("long", [deposit(1)]);
    const result = await store.aggregateStream("long", { ...options, snapshotEvery: undefined, snapshotName: undefined });
    expect(result).toMatchObject({ state: { balance: 3001, deposits: 3001 }, version: 3001, eventsFolded: 3001 });
  });
});
