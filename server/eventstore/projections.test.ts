import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openTestStorage, testStorageKinds, type TestStorage } from "../db/testing.ts";
import {
  createEventStore,
  DELETE_ROW,
  getReadModelRow,
  listProjections,
  NotFoundError,
  ProjectionHandlerError,
  projectionLag,
  Projector,
  queryReadModel,
  rebuildProgress,
  type EventStore,
  type ProjectionDefinition,
  type RebuildProgress,
  type RecordedEvent,
} from "./index.ts";

interface OrderSummary {
  orderId: string;
  customer: string;
  total: number;
  status: string;
  tags: string[];
  updates: number;
}

type OrderEvent = RecordedEvent<string, { orderId: string; customer?: string; total?: number; tags?: string[] }>;

function orderSummaries(name = "orderSummaries"): ProjectionDefinition<OrderSummary> {
  const key = (event: RecordedEvent) => (event as OrderEvent).data.orderId;
  return {
    name,
    handlers: {
      OrderPlaced: {
        key,
        apply: (_state, event) => {
          const data = (event as OrderEvent).data;
          return { orderId: data.orderId, customer: data.customer!, total: data.total!, status: "placed", tags: data.tags ?? [], updates: 1 };
        },
      },
      OrderShipped: { key, apply: (state, _event) => ({ ...state!, status: "shipped", updates: state!.updates + 1 }) },
      OrderCancelled: { key, apply: () => DELETE_ROW },
    },
  };
}

const customers = ["Ada Lovelace", "Grace Hopper", "Alan Turing", "Barbara Liskov"];

async function placeOrders(store: EventStore, count: number, from = 0): Promise<void> {
  for (let i = from; i < from + count; i += 1) {
    await store.append(`order-${i}`, [
      {
        type: "OrderPlaced",
        data: { orderId: `o${String(i).padStart(3, "0")}`, customer: customers[i % 4], total: (i * 37) % 100, tags: i % 2 ? ["gift"] : [] },
      },
    ]);
    if (i % 3 === 0) await store.append(`order-${i}`, [{ type: "OrderShipped", data: { orderId: `o${String(i).padStart(3, "0")}` } }]);
  }
}

describe.each(testStorageKinds)("projections on %s", (kind) => {
  let storage: TestStorage;
  let store: EventStore;
  beforeEach(async () => {
    storage = await openTestStorage(kind);
    store = createEventStore(storage, { pollIntervalMs: 50 });
  });
  afterEach(async () => {
    await store.close();
    await storage.dispose();
  });

  it("projects events into keyed rows, deletes on request, and reports lag", async () => {
    await placeOrders(store, 12);
    await store.append("order-5", [{ type: "OrderCancelled", data: { orderId: "o005" } }]);
    await store.append("noise", [{ type: "Unrelated", data: {} }]);
    const projector = new Projector(store, orderSummaries());
    await projector.register();
    const before = await projector.lag();
    expect(before).toMatchObject({ checkpoint: 0, behind: 12 + 4 + 1 });

    expect(await projector.catchUp()).toBe(17);
    const lag = await projectionLag(storage.sql, "orderSummaries");
    expect(lag).toEqual({ checkpoint: before.head, head: before.head, behind: 0 });
    expect(await getReadModelRow(storage.sql, "orderSummaries", "o005")).toBeUndefined();
    expect(await getReadModelRow<OrderSummary>(storage.sql, "orderSummaries", "o003")).toMatchObject({
      data: { status: "shipped", customer: "Barbara Liskov", updates: 2 },
      version: 2,
    });
    const all = await queryReadModel<OrderSummary>(storage.sql, "orderSummaries", { limit: 100 });
    expect(all.total).toBe(11);
    expect(all.rows.map((r) => r.key)).toEqual(["o000", "o001", "o002", "o003", "o004", "o006", "o007", "o008", "o009", "o010", "o011"]);

    await placeOrders(store, 2, 12);
    expect((await projector.lag()).behind).toBe(3);
    expect(await projector.catchUp()).toBe(3);
    expect(await projector.catchUp()).toBe(0);
  });

  it("queries rows with filters, sort, offset and cursor paging, and the total", async () => {
    await placeOrders(store, 30);
    const projector = new Projector(store, orderSummaries());
    await projector.catchUp();
    const sql = storage.sql;

    const shipped = await queryReadModel<OrderSummary>(sql, "orderSummaries", { filter: [{ field: "status", op: "eq", value: "shipped" }], limit: 100 });
    expect(shipped.total).toBe(10);
    expect(shipped.rows.every((r) => r.data.status === "shipped")).toBe(true);

    const grace = await queryReadModel<OrderSummary>(sql, "orderSummaries", { filter: [{ field: "customer", op: "contains", value: "HOPPER" }] });
    expect(grace.total).toBe(8);
    expect(new Set(grace.rows.map((r) => r.data.customer))).toEqual(new Set(["Grace Hopper"]));

    const gifts = await queryReadModel<OrderSummary>(sql, "orderSummaries", {
      filter: [
        { field: "tags", op: "contains", value: "gift" },
        { field: "status", op: "eq", value: "shipped" },
      ],
    });
    expect(gifts.rows.map((r) => r.key)).toEqual(["o003", "o009", "o015", "o021", "o027"]);

    const byTotal = await queryReadModel<OrderSummary>(sql, "orderSummaries", { sort: { field: "total", direction: "desc" }, limit: 30 });
    const totals = byTotal.rows.map((r) => r.data.total);
    expect(totals).toEqual([...totals].sort((a, b) => b - a));

    const offsetPage = await queryReadModel<OrderSummary>(sql, "orderSummaries", { sort: { field: "total" }, limit: 7, offset: 7 });
    const ascending = await queryReadModel<OrderSummary>(sql, "orderSummaries", { sort: { field: "total" }, limit: 30 });
    expect(offsetPage.rows.map((r) => r.key)).toEqual(ascending.rows.slice(7, 14).map((r) => r.key));
    expect(offsetPage.total).toBe(30);

    const walked: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await queryReadModel<OrderSummary>(sql, "orderSummaries", { sort: { field: "total", direction: "desc" }, limit: 8, cursor });
      walked.push(...page.rows.map((r) => r.key));
      cursor = page.nextCursor ?? undefined;
      pages += 1;
    } while (cursor);
    expect(pages).toBe(4);
    expect(walked).toEqual(byTotal.rows.map((r) => r.key));

    await expect(queryReadModel(sql, "nope")).rejects.toBeInstanceOf(NotFoundError);
    await expect(queryReadModel(sql, "orderSummaries", { sort: { field: "total; drop" } })).rejects.toThrow(/Invalid field "total; drop"/);
    await expect(queryReadModel(sql, "orderSummaries", { cursor: "garbage" })).rejects.toThrow(/Invalid cursor "garbage"/);
    await expect(queryReadModel(sql, "orderSummaries", { limit: 0 })).rejects.toThrow(/Invalid limit 0/);
  });

  it("applies each event exactly once: a failing batch changes neither view nor checkpoint", async () => {
    await placeOrders(store, 10);
    let failAt: string | undefined = "o006";
    const definition = orderSummaries();
    const flaky: ProjectionDefinition<OrderSummary> = {
      ...definition,
      handlers: {
        ...definition.handlers,
        OrderPlaced: {
          key: definition.handlers.OrderPlaced!.key,
          apply: (state, event) => {
            if ((event as OrderEvent).data.orderId === failAt) throw new Error("handler bug");
            return definition.handlers.OrderPlaced!.apply(state, event);
          },
        },
      },
    };
    const projector = new Projector(store, flaky, { batchSize: 100 });
    await expect(projector.catchUp()).rejects.toBeInstanceOf(ProjectionHandlerError);
    await expect(projector.catchUp()).rejects.toThrow(/failed on OrderPlaced at position \d+: apply threw: handler bug/);
    expect((await queryReadModel(storage.sql, "orderSummaries")).total).toBe(0);
    expect((await projector.lag()).checkpoint).toBe(0);

    failAt = undefined;
    expect(await projector.catchUp()).toBe(14);
    const rows = await queryReadModel<OrderSummary>(storage.sql, "orderSummaries", { limit: 100 });
    expect(rows.rows.reduce((sum, r) => sum + r.data.updates, 0)).toBe(14);
  });

  it("never applies an event twice when several runners follow the same projection", async () => {
    const counter: ProjectionDefinition<{ count: number; last: number }> = {
      name: "perStream",
      handlers: {
        Tick: {
          key: (event) => event.streamId,
          apply: (state, event) => {
            if (state && event.streamVersion !== state.last + 1) throw new Error(`out of order: ${state.last} then ${event.streamVersion}`);
            return { count: (state?.count ?? 0) + 1, last: event.streamVersion };
          },
        },
      },
    };
    const runners = [new Projector(store, counter, { batchSize: 5 }), new Projector(store, counter, { batchSize: 7 }), new Projector(store, counter, { batchSize: 3 })];
    for (const runner of runners) runner.start();
    await Promise.all(
      Array.from({ length: 4 }, async (_, writer) => {
        for (let k = 0; k < 25; k += 1) await store.append(`ticker-${writer}`, [{ type: "Tick", data: { k } }]);
      }),
    );
    const started = Date.now();
    while ((await projectionLag(storage.sql, "perStream")).behind > 0) {
      if (Date.now() - started > 15_000) throw new Error("projection did not catch up");
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await Promise.all(runners.map((runner) => runner.stop()));
    expect(runners.map((runner) => runner.error)).toEqual([undefined, undefined, undefined]);
    const rows = await queryReadModel<{ count: number; last: number }>(storage.sql, "perStream", { limit: 10 });
    expect(rows.rows.map((r) => [r.key, r.data.count, r.data.last, r.version])).toEqual([
      ["ticker-0", 25, 25, 25],
      ["ticker-1", 25, 25, 25],
      ["ticker-2", 25, 25, 25],
      ["ticker-3", 25, 25, 25],
    ]);
    const [info] = (await listProjections(storage.sql)).filter((p) => p.name === "perStream");
    expect(info!.processed).toBe(100);
  });

  it("rebuilds from position 0 into a shadow view and swaps it in atomically, reporting progress", async () => {
    await placeOrders(store, 40);
    const live = new Projector(store, orderSummaries(), { pollIntervalMs: 20 });
    live.start();
    const waitCaughtUp = async () => {
      const started = Date.now();
      while ((await live.lag()).behind > 0) {
        if (Date.now() - started > 15_000) throw new Error("projection did not catch up");
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    };
    await waitCaughtUp();
    const [before] = await listProjections(storage.sql);

    // The new definition also records the customer's initials: only a replay can fill old rows.
    const v1 = orderSummaries();
    const v2: ProjectionDefinition<OrderSummary & { initials: string }> = {
      name: "orderSummaries",
      handlers: {
        OrderPlaced: {
          key: v1.handlers.OrderPlaced!.key,
          apply: (state, event) => {
            const base = v1.handlers.OrderPlaced!.apply(state, event) as OrderSummary;
            return { ...base, initials: base.customer.split(" ").map((w) => w[0]).join("") };
          },
        },
        OrderShipped: { key: v1.handlers.OrderShipped!.key, apply: (state) => ({ ...state!, status: "shipped", updates: state!.updates + 1 }) },
        OrderCancelled: { key: v1.handlers.OrderCancelled!.key, apply: () => DELETE_ROW },
      },
    };
    const rebuilder = new Projector(store, v2, { rebuildBatchSize: 10 });
    const progress: RebuildProgress[] = [];
    const liveViewsDuringRebuild: number[] = [];
    const run = rebuilder.rebuild({
      onProgress: (p) => {
        progress.push(p);
        void queryReadModel(storage.sql, "orderSummaries", { limit: 1 }).then((page) => liveViewsDuringRebuild.push(page.total));
      },
    });
    // Appends keep coming during the rebuild.
    await placeOrders(store, 5, 40);
    const final = await run.done;
    expect(final).toMatchObject({ status: "done", error: null });
    expect(final.processed).toBe(final.total);
    expect(final.processed).toBeGreaterThanOrEqual(54);
    const running = progress.filter((p) => p.status === "running");
    expect(running.length).toBeGreaterThanOrEqual(5);
    expect(running.map((p) => p.processed)).toEqual([...running.map((p) => p.processed)].sort((a, b) => a - b));
    expect(running.every((p) => p.processed <= p.total)).toBe(true);
    expect(liveViewsDuringRebuild.every((total) => total >= 40)).toBe(true);

    const [after] = await listProjections(storage.sql);
    expect(after!.generation).toBe(before!.generation + 1);
    expect(after!.view).not.toBe(before!.view);
    const leftovers = await storage.sql.query(`SELECT count(*)::int AS n FROM read_model_rows WHERE view = $1`, [before!.view]);
    expect(leftovers.rows).toEqual([{ n: 0 }]);

    // The live runner continues from the rebuilt view's checkpoint: nothing lost, nothing doubled.
    await placeOrders(store, 3, 45);
    await waitCaughtUp();
    await live.stop();
    const rows = await queryReadModel<OrderSummary & { initials?: string }>(storage.sql, "orderSummaries", { limit: 100 });
    expect(rows.total).toBe(48);
    const o000 = rows.rows.find((r) => r.key === "o000")!;
    expect(o000.data).toMatchObject({ initials: "AL", status: "shipped", updates: 2 });
    expect(rows.rows.reduce((sum, r) => sum + r.data.updates, 0)).toBe(48 + 16);
    expect(await rebuildProgress(storage.sql, "orderSummaries")).toMatchObject({ status: "done", processed: final.processed });
  });

  it("leaves the live view serving when a rebuild fails, and a later rebuild starts clean", async () => {
    await placeOrders(store, 12);
    const projector = new Projector(store, orderSummaries());
    await projector.catchUp();
    const [before] = await listProjections(storage.sql);

    const v1 = orderSummaries();
    const broken: ProjectionDefinition<OrderSummary> = {
      ...v1,
      handlers: {
        ...v1.handlers,
        OrderShipped: {
          key: v1.handlers.OrderShipped!.key,
          apply: (state, event) => {
            if ((event as OrderEvent).data.orderId === "o009") throw new Error("bad upgrade");
            return v1.handlers.OrderShipped!.apply(state, event);
          },
        },
      },
    };
    const failed = new Projector(store, broken, { rebuildBatchSize: 4 }).rebuild();
    await expect(failed.done).rejects.toBeInstanceOf(ProjectionHandlerError);
    expect(failed.progress.status).toBe("failed");
    const progress = await rebuildProgress(storage.sql, "orderSummaries");
    expect(progress.status).toBe("failed");
    expect(progress.error).toMatch(/bad upgrade/);
    expect(progress.processed).toBeGreaterThan(0);
    const [afterFailure] = await listProjections(storage.sql);
    expect(afterFailure).toMatchObject({ view: before!.view, generation: before!.generation, checkpoint: before!.checkpoint });
    expect((await queryReadModel(storage.sql, "orderSummaries")).total).toBe(12);

    const retried = await new Projector(store, orderSummaries(), { rebuildBatchSize: 4 }).rebuild().done;
    expect(retried).toMatchObject({ status: "done", processed: 16, total: 16, error: null });
    const views = await storage.sql.query<{ view: string }>(`SELECT DISTINCT view FROM read_model_rows ORDER BY view`);
    const [after] = await listProjections(storage.sql);
    expect(views.rows.map((r) => r.view)).toEqual([after!.view]);
    expect((await queryReadModel(storage.sql, "orderSummaries")).total).toBe(12);
  });
});
