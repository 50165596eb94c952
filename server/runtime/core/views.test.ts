import { describe, expect, it } from "vitest";
import type { ProcessDefinitionV1, ReadModelDefinition } from "../../definition/v1.ts";
import { compileTemplate } from "../../scenarios/scenario.ts";
import { aggregateDecider } from "./aggregate.ts";
import { ExpressionFailure } from "./expressions.ts";
import { aggregateSpecification } from "./spec.ts";
import type { DomainCommand } from "./types.ts";
import { MAX_VIEW_READS_PER_DECISION, type ViewRow, type ViewSource } from "./views.ts";

const orders = compileTemplate("order-fulfilment", "orders");
const order = orders.aggregates.find((aggregate) => aggregate.name === "Order")!;

const ref = (definition: ProcessDefinitionV1, name: string) => {
  const found = [...definition.commands, ...definition.events].find((message) => message.name === name);
  if (!found) throw new Error(`no message ${name}`);
  return { id: found.id, name: found.name };
};
const meta = { messageId: "m-1", messageName: "ValidateOrder", correlationId: "c-1", causationId: "c-1", occurredAt: "2026-11-23T10:00:00.000Z", version: 0 };
type Line = { sku: string; quantity: number };
const priced = (lines: Line[]) => lines.map((line) => ({ ...line, unitPrice: 10 }));
/** The policy sends ValidateOrder with the requested order's lines. */
const validate = (orderId: string, lines: Line[]): DomainCommand => ({ command: ref(orders, "ValidateOrder"), payload: { orderId, lines: priced(lines) }, meta });
const requested = (orderId: string, lines: Line[]) => ({
  event: ref(orders, "OrderRequested"),
  payload: { orderId, customerId: "c-1", lines: priced(lines), total: 0, requestedAt: "2026-11-23T09:00:00.000Z" },
});

/** Rows by read model name and key; every read is recorded. */
function rowsOf(rows: Record<string, Record<string, ViewRow>>, definition: ProcessDefinitionV1 = orders) {
  const reads: string[] = [];
  const source: ViewSource = {
    readModels: definition.readModels,
    readRow: async (readModel: ReadModelDefinition, key: string) => {
      reads.push(`${readModel.name}/${key}`);
      return rows[readModel.name]?.[key];
    },
  };
  return { source, reads };
}

describe("$view in aggregate rules (Order of the order-fulfilment template)", () => {
  it("rejects an order with a line beyond the stock its context's view shows, naming the SKU; a SKU without a row has none", async () => {
    const { source, reads } = rowsOf({ StockLevels: { LAMP: { sku: "LAMP", onHand: 5 }, SOFA: { sku: "SOFA", onHand: 1 } } });
    const lines = [
      { sku: "LAMP", quantity: 2 },
      { sku: "SOFA", quantity: 3 },
      { sku: "DESK", quantity: 1 },
    ];
    await aggregateSpecification(order, source)(requested("o-1", lines))
      .when(validate("o-1", lines))
      .then({
        kind: "accepted",
        ruleId: expect.any(String),
        events: [{ event: ref(orders, "OrderRejected"), payload: { orderId: "o-1", reason: "Out of stock: SKU SOFA (3 ordered, 1 on hand), SKU DESK (1 ordered, 0 on hand)" } }],
      });
    // The guard and the reason read the same rows: each is read once per decision.
    expect(reads.sort()).toEqual(["StockLevels/DESK", "StockLevels/LAMP", "StockLevels/SOFA"]);
  });

  it("validates an order every line of which is in stock", async () => {
    const { source } = rowsOf({ StockLevels: { LAMP: { sku: "LAMP", onHand: 2 } } });
    await aggregateSpecification(order, source)(requested("o-2", [{ sku: "LAMP", quantity: 2 }]))
      .when(validate("o-2", [{ sku: "LAMP", quantity: 2 }]))
      .thenMatches({ kind: "accepted", events: [{ event: ref(orders, "OrderValidated"), payload: { orderId: "o-2" } }] });
  });

  it("fails as an expression when a rule names a view of another context or none, so the command is parked", async () => {
    const foreign: ProcessDefinitionV1 = structuredClone(orders);
    foreign.readModels.push({ ...foreign.readModels.find((readModel) => readModel.name === "StockLevels")!, id: "warehouse-stock", name: "WarehouseStock", context: { id: "inventory", name: "Inventory" } });
    const rule = foreign.aggregates.find((aggregate) => aggregate.name === "Order")!.decisions.flatMap((decision) => decision.rules).find((candidate) => candidate.condition?.source.includes("$view"))!;
    rule.condition = { input: "decision", source: "$view('WarehouseStock', 'LAMP').onHand < 1" };
    const { source, reads } = rowsOf({ WarehouseStock: { LAMP: { onHand: 0 } } }, foreign);
    const decider = aggregateDecider(foreign.aggregates.find((aggregate) => aggregate.name === "Order")!);
    const state = await decider.evolve(decider.initialState(), requested("o-3", [{ sku: "LAMP", quantity: 1 }]));
    const decided = decider.decide(validate("o-3", [{ sku: "LAMP", quantity: 1 }]), state, { version: 1, views: source });
    await expect(decided).rejects.toThrow(ExpressionFailure);
    await expect(decided).rejects.toThrow(/Order reads only views of its own context \(Orders\): OrderStatus, StockLevels; not "WarehouseStock"/);
    expect(reads).toEqual([]);
    await expect(decider.decide(validate("o-3", [{ sku: "LAMP", quantity: 1 }]), state, { version: 1 })).rejects.toThrow(/not "WarehouseStock"/);
  });

  it("lets a failing read through as it is, so the command is retried rather than parked", async () => {
    const outage = new Error("connection terminated");
    const source: ViewSource = { readModels: orders.readModels, readRow: () => Promise.reject(outage) };
    const decider = aggregateDecider(order);
    const state = await decider.evolve(decider.initialState(), requested("o-4", [{ sku: "LAMP", quantity: 1 }]));
    await expect(decider.decide(validate("o-4", [{ sku: "LAMP", quantity: 1 }]), state, { version: 1, views: source })).rejects.toBe(outage);
  });

  it("stops a rule that reads more rows than one decision may", async () => {
    const { source, reads } = rowsOf({});
    const lines = Array.from({ length: MAX_VIEW_READS_PER_DECISION + 1 }, (_, index) => ({ sku: `SKU-${index}`, quantity: 0 }));
    const decider = aggregateDecider(order);
    const state = await decider.evolve(decider.initialState(), requested("o-5", lines));
    await expect(decider.decide(validate("o-5", lines), state, { version: 1, views: source })).rejects.toThrow(`read more than ${MAX_VIEW_READS_PER_DECISION} view rows in one decision`);
    expect(reads).toHaveLength(MAX_VIEW_READS_PER_DECISION);
  });
});
