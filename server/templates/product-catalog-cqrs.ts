/**
 * SEEDS 002: CQRS over NATS. The Catalog write model {name, sku, stockCount} publishes
 * product.inserted; the Storefront builds its own read model {name, code, lastUpdated} from it
 * and serves /products from there (eventually consistent). Supplier products arrive on a NATS
 * subject consumed by a queue group, so exactly one Catalog instance takes each. Stock changes
 * arrive through a work queue (a Redis stream read in batches, acknowledged once stored).
 */
import type { BoardBuilder } from "./builder.ts";
import { payload } from "./builder.ts";

export function productCatalogCqrs(board: BoardBuilder): void {
  const catalog = board.context("catalog", "Catalog", { color: "#db2777", description: "The write side: products and their stock." });
  const storefront = board.context("storefront", "Storefront", { color: "#0d9488", description: "The read side behind GET /products." });

  const insertProduct = board.command(catalog, "insert-product", "InsertProduct", payload({ name: "string", sku: "string", stockCount: "integer" }));
  const changeStock = board.command(catalog, "change-stock", "ChangeStockCount", payload({ sku: "string", stockCount: "integer" }));
  const productInserted = board.event(catalog, "product-inserted", "ProductInserted", payload({ name: "string", sku: "string", stockCount: "integer", insertedAt: "date-time" }), {
    visibility: "public",
  });
  const stockChanged = board.event(catalog, "stock-count-changed", "StockCountChanged", payload({ sku: "string", stockCount: "integer", changedAt: "date-time" }), {
    visibility: "public",
  });
  board.aggregate(catalog, "product", "Product", {
    idExpression: "command.sku",
    state: [
      { name: "exists", type: "boolean", initial: false },
      { name: "stockCount", type: "integer", initial: 0 },
    ],
  });
  board
    .decide("product", insertProduct, [
      { when: "state.exists", reject: "A product with this SKU already exists." },
      { when: "command.stockCount < 0", reject: "Stock cannot be negative." },
      { emit: [{ event: productInserted, mapping: { name: "$trim(command.name)", sku: "command.sku", stockCount: "command.stockCount", insertedAt: "$now()" } }] },
    ])
    .decide("product", changeStock, [
      { when: "$not(state.exists)", reject: "There is no product with this SKU." },
      { when: "command.stockCount < 0", reject: "Stock cannot be negative." },
      { emit: [{ event: stockChanged, mapping: { sku: "command.sku", stockCount: "command.stockCount", changedAt: "$now()" } }] },
    ])
    .evolve("product", productInserted, { exists: "true", stockCount: "event.stockCount" })
    .evolve("product", stockChanged, { stockCount: "event.stockCount" });

  board.actor(null, "catalog-manager", "Catalog manager", [insertProduct, changeStock]);
  board.externalSystem(null, "supplier-feed", "Supplier feed", {
    description: "Suppliers publish new products on supplier.products.*; the catalog's instances share one queue group.",
    binding: { kind: "nats", subject: "supplier.products.*", queueGroup: "catalog" },
    inbound: [{ message: "supplier.product", target: insertProduct, mapping: { name: "message.title", sku: "message.code", stockCount: "$number(message.quantity)" } }],
  });
  board.externalSystem(null, "stock-updates", "Stock update queue", {
    description:
      "A work queue of {id, name, payload} messages on a Redis stream: read in batches of 10 every 500 ms, acknowledged once stored; one that cannot be stored stays for a later try, and a command that keeps failing is parked as a dead letter for redrive.",
    binding: { kind: "redis", channel: "catalog.stock-updates", mode: "stream", batchSize: 10, pollIntervalMs: 500 },
    inbound: [{ message: "stock.changed", target: changeStock, mapping: { sku: "message.sku", stockCount: "message.stockCount" } }],
  });
  board.externalSystem(null, "product-events", "Product events", {
    description: "Every subscriber of product.inserted gets a copy.",
    binding: { kind: "nats", subject: "product.inserted" },
    outbound: [{ source: productInserted, message: "product.inserted", mapping: { name: "event.name", sku: "event.sku", stock_count: "event.stockCount" } }],
  });

  board.readModel(storefront, "products", "Products", {
    description: "Shaped for the product list: name, code and when it last changed.",
    fields: [
      { name: "name", type: "string" },
      { name: "code", type: "string" },
      { name: "lastUpdated", type: "date-time" },
    ],
    updates: [
      { event: productInserted, key: "event.sku", set: { name: "event.name", code: "event.sku", lastUpdated: "event.insertedAt" } },
      { event: stockChanged, key: "event.sku", set: { lastUpdated: "event.changedAt" } },
    ],
  });
}
