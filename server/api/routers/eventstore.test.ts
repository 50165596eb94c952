import { TRPCError } from "@trpc/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCallerFactory, createTRPCContext } from "@/server/api/trpc.ts";
import { openTestStorage, testStorageKinds, type TestStorage } from "@/server/db/testing.ts";
import { createEventStore, Projector, type EventStore } from "@/server/eventstore/index.ts";
import { eventstoreRouter } from "./eventstore.ts";

const createCaller = createCallerFactory(eventstoreRouter);

async function rejection(promise: Promise<unknown>): Promise<TRPCError> {
  const error = await promise.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(TRPCError);
  return error as TRPCError;
}

describe.each(testStorageKinds)("event store router on %s", (kind) => {
  let storage: TestStorage;
  let store: EventStore;
  let caller: ReturnType<typeof createCaller>;

  beforeAll(async () => {
    storage = await openTestStorage(kind);
    store = createEventStore(storage);
    caller = createCaller(createTRPCContext({ headers: new Headers(), storage }));
    for (let i = 0; i < 6; i += 1) {
      await store.append(`cart-${i % 2}`, [{ type: i % 3 === 0 ? "CartCreated" : "ItemAdded", data: { cart: `cart-${i % 2}`, i }, metadata: { context: "Shop" } }]);
    }
  });
  afterAll(async () => {
    await store.close();
    await storage.dispose();
  });

  it("reads streams and the global log, and maps store errors to tRPC codes", async () => {
    const stream = await caller.readStream({ streamId: "cart-1", direction: "backward", limit: 2 });
    expect(stream.version).toBe(3);
    expect(stream.events.map((e) => e.streamVersion)).toEqual([3, 2]);
    const log = await caller.readAll({ limit: 4 });
    expect(log.events).toHaveLength(4);
    const rest = await caller.readAll({ after: log.lastPosition, filter: { types: ["ItemAdded"] } });
    expect(rest.events.map((e) => (e.data as { i: number }).i)).toEqual([4, 5]);

    expect((await rejection(caller.readStream({ streamId: "nope" }))).code).toBe("NOT_FOUND");
    expect((await rejection(caller.readAll({ after: 99_999 }))).code).toBe("NOT_FOUND");
    expect((await rejection(caller.readAll({ after: -1 }))).code).toBe("BAD_REQUEST");
    expect((await rejection(caller.readAll({ filter: { types: [] } }))).code).toBe("BAD_REQUEST");
  });

  it("queries a read model, reports lag, and rebuilds a projection running in this process", async () => {
    const projector = new Projector(store, {
      name: "carts",
      handlers: {
        CartCreated: { key: (e) => e.streamId, apply: () => ({ items: 0 }) },
        ItemAdded: { key: (e) => e.streamId, apply: (state: { items: number } | undefined) => ({ items: (state?.items ?? 0) + 1 }) },
      },
    });
    await projector.register();
    expect(await caller.lag({ projection: "carts" })).toMatchObject({ checkpoint: 0, behind: 6 });
    await projector.catchUp();
    expect(await caller.lag({ projection: "carts" })).toMatchObject({ behind: 0 });

    const page = await caller.readModel({ projection: "carts", sort: { field: "items", direction: "desc" }, limit: 1 });
    expect(page.total).toBe(2);
    expect(page.rows.map((r) => [r.key, r.data])).toEqual([["cart-0", { items: 2 }]]);
    const next = await caller.readModel({ projection: "carts", sort: { field: "items", direction: "desc" }, limit: 1, cursor: page.nextCursor! });
    expect(next.rows.map((r) => r.key)).toEqual(["cart-1"]);
    const filtered = await caller.readModel({ projection: "carts", filter: [{ field: "items", op: "eq", value: 2 }] });
    expect(filtered.rows.map((r) => r.key)).toEqual(["cart-0"]);

    const started = await caller.startRebuild({ projection: "carts" });
    expect(started.status).toBe("running");
    const deadline = Date.now() + 10_000;
    let progress = await caller.rebuildProgress({ projection: "carts" });
    while (progress.status !== "done" && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      progress = await caller.rebuildProgress({ projection: "carts" });
    }
    expect(progress).toMatchObject({ status: "done", processed: 6, total: 6 });
    expect((await caller.projections()).find((p) => p.name === "carts")).toMatchObject({ generation: 2, processed: 6 });

    expect((await rejection(caller.startRebuild({ projection: "elsewhere" }))).code).toBe("NOT_FOUND");
    expect((await rejection(caller.readModel({ projection: "carts", sort: { field: "a b" } }))).code).toBe("BAD_REQUEST");
    expect((await rejection(caller.readModel({ projection: "bad name!" }))).code).toBe("BAD_REQUEST");
  });
});
