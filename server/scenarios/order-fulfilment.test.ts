/**
 * Order fulfilment as a choreography of four contexts: an order is confirmed and shipped, or
 * rejected (and its stock released) when payment is declined; every event is written by the
 * context that owns it. A Pricing context subscribing to the board's events is an addition only.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migrateBoardDocument } from "../board/migrations.ts";
import { compileBoard } from "../compiler/compile.ts";
import { diffDefinitions } from "../compiler/diff.ts";
import { testStorageKinds } from "../db/testing.ts";
import type { ProcessDefinitionV1 } from "../definition/v1.ts";
import { readStream } from "../eventstore/index.ts";
import { openHarness, type Harness } from "../runtime/testing/harness.ts";
import { BoardBuilder } from "../templates/builder.ts";
import { orderFulfilment } from "../templates/order-fulfilment.ts";
import { compileTemplate, eventually, publishAndDeploy } from "./scenario.ts";

const line = (sku: string, quantity: number, unitPrice: number) => ({ sku, quantity, unitPrice });

describe.each(testStorageKinds)("order fulfilment on %s", { timeout: 90_000 }, (kind) => {
  let harness: Harness;
  const definition = compileTemplate("order-fulfilment", "orders");

  beforeAll(async () => {
    harness = await openHarness(kind);
    await publishAndDeploy(harness.runtime, "orders", definition);
  });
  afterAll(() => harness?.dispose());

  async function placeAndSettle(orderId: string, lines: ReturnType<typeof line>[], status: "completed" | "compensated") {
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

  it("confirms and ships an order that is paid", async () => {
    const { placed } = await placeAndSettle("o-1", [line("LAMP", 2, 40)], "completed");
    expect((await readStream(harness.storage.sql, "orders:Order:o-1")).events.map((event) => event.type)).toEqual(["OrderRequested", "OrderConfirmed"]);
    expect((await readStream(harness.storage.sql, "orders:Shipment:o-1")).events.map((event) => [event.type, event.data])).toEqual([
      ["OrderShipped", expect.objectContaining({ orderId: "o-1", trackingCode: "TRK-O-1" })],
    ]);
    expect(await expectSingleWriters(placed.correlationId)).toEqual(["OrderRequested", "StockReserved", "PaymentTaken", "OrderConfirmed", "OrderShipped"]);
  });

  it("rejects an order whose payment is declined and releases its stock", async () => {
    const { placed } = await placeAndSettle("o-2", [line("SOFA", 3, 2500)], "compensated");
    expect((await readStream(harness.storage.sql, "orders:Order:o-2")).events.map((event) => [event.type, event.data])).toEqual([
      ["OrderRequested", expect.objectContaining({ total: 7500 })],
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
