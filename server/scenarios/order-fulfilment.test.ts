/**
 * Order fulfilment as a choreography of four contexts: Orders checks each order against its own
 * view of stock (projected from Inventory's restocks) and rejects what it cannot fill before
 * anything is reserved or paid; an order in stock is confirmed and shipped, or rejected (and its
 * stock released) when payment is declined; every event is written by the context that owns it.
 * A Pricing context subscribing to the board's events is an addition only.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migrateBoardDocument } from "../board/migrations.ts";
import { compileBoard } from "../compiler/compile.ts";
import { diffDefinitions } from "../compiler/diff.ts";
import { testStorageKinds } from "../db/testing.ts";
import type { ProcessDefinitionV1 } from "../definition/v1.ts";
import { getReadModelRow, NotFoundError, readStream } from "../eventstore/index.ts";
import { ReadModelProjections } from "../runtime/read-model-projections.ts";
import { openHarness, type Harness } from "../runtime/testing/harness.ts";
import { BoardBuilder } from "../templates/builder.ts";
import { orderFulfilment } from "../templates/order-fulfilment.ts";
import { compileTemplate, eventually, publishAndDeploy } from "./scenario.ts";

const line = (sku: string, quantity: number, unitPrice: number) => ({ sku, quantity, unitPrice });

describe.each(testStorageKinds)("order fulfilment on %s", { timeout: 90_000 }, (kind) => {
  let harness: Harness;
  let readModels: ReadModelProjections;
  const readModelErrors: unknown[] = [];
  const definition = compileTemplate("order-fulfilment", "orders");

  beforeAll(async () => {
    harness = await openHarness(kind);
    await publishAndDeploy(harness.runtime, "orders", definition);
    readModels = new ReadModelProjections(harness.runtime.store, { pollIntervalMs: 100, projectorPollIntervalMs: 25, onError: (error) => readModelErrors.push(error) }).start();
  });
  afterAll(async () => {
    await readModels?.close();
    await harness?.dispose();
  });

  /** Books stock in Inventory and waits until Orders' own view of stock has caught up. */
  async function restock(sku: string, quantity: number, onHand: number) {
    await harness.runtime.sendCommand({ boardId: "orders", name: "RestockItem", payload: { sku, quantity } });
    await eventually(async () => (await getReadModelRow<{ onHand: number }>(harness.storage.sql, "orders.StockLevels", sku))?.data.onHand === onHand || undefined, `Orders to see ${onHand} ${sku} on hand`);
  }

  async function placeAndSettle(orderId: string, lines: ReturnType<typeof line>[], status: "completed" | "compensated" | "failed") {
    const placed = await harness.runtime.sendCommand({ boardId: "orders", name: "PlaceOrder", payload: { orderId, customerId: "c-1", lines } });
    const instance = await eventually(async () => {
      const page = await harness.runtime.listInstances({ boardId: "orders", limit: 50 });
      const found = page.instances.find((candidate) => candidate.correlationKey === orderId);
      return found && found.status === status ? found : undefined;
    }, `order ${orderId} to be ${status}`, 60_000);
    return { placed, instance };
  }

  /** Every domain event of the correlation was written by the context the definition says owns it. */
  async function expectSingleWriters(correlationId: string) {
    const timeline = await harness.runtime.store.readByCorrelation(correlationId);
    const domain = timeline.events.filter((event) => !event.type.startsWith("$"));
    expect(domain.length).toBeGreaterThan(0);
    for (const event of domain) {
      const owner = definition.events.find((candidate) => candidate.name === event.type)?.context?.name;
      expect({ event: event.type, context: event.metadata.context }).toEqual({ event: event.type, context: owner });
    }
    return domain.map((event) => event.type);
  }

  it("confirms and ships an order within the stock Orders knows of once it is paid", async () => {
    await restock("LAMP", 4, 4);
    await restock("LAMP", 6, 10);
    const { placed } = await placeAndSettle("o-1", [line("LAMP", 2, 40)], "completed");
    expect((await readStream(harness.storage.sql, "orders:Order:o-1")).events.map((event) => event.type)).toEqual(["OrderRequested", "OrderValidated", "OrderConfirmed"]);
    expect((await readStream(harness.storage.sql, "orders:Shipment:o-1")).events.map((event) => [event.type, event.data])).toEqual([
      ["OrderShipped", expect.objectContaining({ orderId: "o-1", trackingCode: "TRK-O-1" })],
    ]);
    expect(await expectSingleWriters(placed.correlationId)).toEqual(["OrderRequested", "OrderValidated", "StockReserved", "PaymentTaken", "OrderConfirmed", "OrderShipped"]);
  });

  it("rejects an order beyond the stock Orders knows of before anything is reserved or paid, naming the SKUs", async () => {
    await restock("DESK", 1, 1);
    const { placed, instance } = await placeAndSettle("o-4", [line("LAMP", 1, 40), line("DESK", 3, 120), line("CHAIR", 1, 60)], "failed");
    expect(instance.reason).toBe("OrderRejected received");
    expect((await readStream(harness.storage.sql, "orders:Order:o-4")).events.map((event) => [event.type, event.data])).toEqual([
      ["OrderRequested", expect.objectContaining({ total: 460 })],
      ["OrderRejected", { orderId: "o-4", reason: "Out of stock: SKU DESK (3 ordered, 1 on hand), SKU CHAIR (1 ordered, 0 on hand)" }],
    ]);
    expect(await expectSingleWriters(placed.correlationId)).toEqual(["OrderRequested", "OrderRejected"]);
    await expect(readStream(harness.storage.sql, "orders:Payment:o-4")).rejects.toBeInstanceOf(NotFoundError);
    await expect(readStream(harness.storage.sql, "orders:Reservation:o-4")).rejects.toBeInstanceOf(NotFoundError);
    await eventually(async () => (await getReadModelRow<{ status: string }>(harness.storage.sql, "orders.OrderStatus", "o-4"))?.data.status.startsWith("rejected: Out of stock") || undefined, "the customer to see the rejection");
    expect(readModelErrors).toEqual([]);
  });

  it("rejects an order whose payment is declined and releases its stock", async () => {
    await restock("SOFA", 3, 3);
    const { placed } = await placeAndSettle("o-2", [line("SOFA", 3, 2500)], "compensated");
    expect((await readStream(harness.storage.sql, "orders:Order:o-2")).events.map((event) => [event.type, event.data])).toEqual([
      ["OrderRequested", expect.objectContaining({ total: 7500 })],
      ["OrderValidated", expect.objectContaining({ orderId: "o-2" })],
      ["OrderRejected", { orderId: "o-2", reason: "Amount above the card limit" }],
    ]);
    const written = await expectSingleWriters(placed.correlationId);
    expect(written).toContain("PaymentDeclined");
    expect(written).not.toContain("OrderShipped");
    await eventually(async () => {
      const reservation = await readStream(harness.storage.sql, "orders:Reservation:o-2");
      return reservation.events.some((event) => event.type === "StockReleased") || undefined;
    }, "the reservation to be released");
  });

  it("adding a Pricing subscriber and publishing again changes nothing that was there: the diff has additions only", async () => {
    const builder = new BoardBuilder();
    orderFulfilment(builder);
    const pricing = builder.context("pricing", "Pricing", { color: "#e11d48", description: "Learns what sells at which price." });
    builder.readModel(pricing, "revenue-by-sku", "RevenueBySku", {
      description: "Confirmed revenue per customer, from Orders' public events.",
      fields: [
        { name: "customerId", type: "string" },
        { name: "total", type: "number" },
      ],
      updates: [{ event: "order-requested", key: "event.customerId", set: { customerId: "event.customerId", total: "event.total" } }],
    });
    const compiled = compileBoard(migrateBoardDocument(builder.build()), { id: "orders", name: definition.name, description: definition.description });
    expect(compiled.diagnostics.filter((diagnostic) => diagnostic.severity === "error")).toEqual([]);
    const next = compiled.definition as ProcessDefinitionV1;
    const deployed = await publishAndDeploy(harness.runtime, "orders", next);
    expect(deployed).toMatchObject({ version: 2, deployed: true });

    const diff = diffDefinitions(definition, next);
    expect(diff.counts).toEqual({ added: diff.changes.length, removed: 0, changed: 0 });
    expect(diff.changes.map((change) => [change.category, change.id]).sort()).toEqual([
      ["contexts", "pricing"],
      ["views", "revenue-by-sku"],
    ]);
    await placeAndSettle("o-3", [line("LAMP", 1, 40)], "completed");
  });
});
