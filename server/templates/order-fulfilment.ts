/**
 * SEEDS 001: an order flow across Orders, Inventory, Payments and Shipping. Every context reacts to
 * the events before it and owns its own events (single writer: only Orders validates, confirms or
 * rejects an order). Orders keeps a local view of stock built from Inventory's events
 * (event-carried state transfer) and checks each order against it, with `$view`, instead of
 * asking Inventory; the view is eventually consistent.
 */
import type { BoardBuilder } from "./builder.ts";
import { listOf, object, payload } from "./builder.ts";

const orderLine = object({ sku: "string", quantity: "integer", unitPrice: "number" });

/** Units of the line's SKU on hand in Orders' StockLevels view; a SKU never restocked has none. */
const onHand = "($stock := $view('StockLevels', sku); $stock ? $stock.onHand : 0)";
const outOfStockLines = `command.lines[quantity > ${onHand}]`;

export function orderFulfilment(board: BoardBuilder): void {
  const orders = board.context("orders", "Orders", { color: "#2563eb", description: "Takes orders and alone decides their state." });
  const inventory = board.context("inventory", "Inventory", { color: "#ca8a04", description: "Knows what is in stock and reserves it." });
  const payments = board.context("payments", "Payments", { color: "#16a34a", description: "Takes the money." });
  const shipping = board.context("shipping", "Shipping", { color: "#9333ea", description: "Sends the parcels." });

  const placeOrder = board.command(orders, "place-order", "PlaceOrder", payload({ orderId: "string", customerId: "string", lines: listOf(orderLine) }));
  const orderRequested = board.event(
    orders,
    "order-requested",
    "OrderRequested",
    payload({ orderId: "string", customerId: "string", lines: listOf(orderLine), total: "number", requestedAt: "date-time" }),
    { visibility: "public", lifecycle: "start" },
  );
  const validateOrder = board.command(orders, "validate-order", "ValidateOrder", payload({ orderId: "string", lines: listOf(orderLine) }), "Checks the order's lines against Orders' own view of stock.");
  const orderValidated = board.event(orders, "order-validated", "OrderValidated", payload({ orderId: "string", validatedAt: "date-time" }), {
    visibility: "public",
    description: "Every line was in stock, as far as Orders' view of stock knew.",
  });
  const confirmOrder = board.command(orders, "confirm-order", "ConfirmOrder", payload({ orderId: "string", paymentId: "string" }));
  const orderConfirmed = board.event(orders, "order-confirmed", "OrderConfirmed", payload({ orderId: "string", paymentId: "string", confirmedAt: "date-time" }), {
    visibility: "public",
  });
  const rejectOrder = board.command(orders, "reject-order", "RejectOrder", payload({ orderId: "string", reason: "string" }));
  const orderRejected = board.event(orders, "order-rejected", "OrderRejected", payload({ orderId: "string", reason: "string" }), { visibility: "public", lifecycle: "fail" });
  board.aggregate(orders, "order", "Order", {
    idExpression: "command.orderId",
    state: [
      { name: "status", type: "string", initial: "" },
      { name: "total", type: "number", initial: 0 },
    ],
  });
  board
    .decide("order", placeOrder, [
      { when: "state.status != ''", reject: "This order already exists." },
      { when: "$count(command.lines) = 0", reject: "An order needs at least one line." },
      {
        emit: [
          {
            event: orderRequested,
            mapping: {
              orderId: "command.orderId",
              customerId: "command.customerId",
              lines: "command.lines",
              total: "$round($sum(command.lines.(quantity * unitPrice)), 2)",
              requestedAt: "$now()",
            },
          },
        ],
      },
    ])
    .decide("order", validateOrder, [
      // Not "requested": an order started from its OrderRequested event (the Run panel) never passed through PlaceOrder.
      { when: "state.status in ['validated', 'confirmed', 'rejected']", reject: "This order has already been decided." },
      {
        when: `$exists(${outOfStockLines})`,
        emit: [
          {
            event: orderRejected,
            mapping: {
              orderId: "command.orderId",
              reason: `'Out of stock: ' & $join(${outOfStockLines}.('SKU ' & sku & ' (' & quantity & ' ordered, ' & ${onHand} & ' on hand)'), ', ')`,
            },
          },
        ],
      },
      { emit: [{ event: orderValidated, mapping: { orderId: "command.orderId", validatedAt: "$now()" } }] },
    ])
    .decide("order", confirmOrder, [
      { when: "state.status != 'validated'", reject: "Only a validated order can be confirmed." },
      { emit: [{ event: orderConfirmed, mapping: { orderId: "command.orderId", paymentId: "command.paymentId", confirmedAt: "$now()" } }] },
    ])
    .decide("order", rejectOrder, [
      { when: "$not(state.status in ['requested', 'validated'])", reject: "Only an open order can be rejected." },
      { emit: [{ event: orderRejected, mapping: { orderId: "command.orderId", reason: "command.reason" } }] },
    ])
    .evolve("order", orderRequested, { status: "'requested'", total: "event.total" })
    .evolve("order", orderValidated, { status: "'validated'" })
    .evolve("order", orderConfirmed, { status: "'confirmed'" })
    .evolve("order", orderRejected, { status: "'rejected'" });

  const reserveStock = board.command(inventory, "reserve-stock", "ReserveStock", payload({ orderId: "string", lines: listOf(orderLine) }));
  const releaseStock = board.command(inventory, "release-stock", "ReleaseStock", payload({ orderId: "string" }), "Undoes a reservation when the order fails.");
  const stockReserved = board.event(inventory, "stock-reserved", "StockReserved", payload({ orderId: "string", reservedAt: "date-time" }), { visibility: "public" });
  const stockReleased = board.event(inventory, "stock-released", "StockReleased", payload({ orderId: "string" }), { visibility: "public" });
  board.aggregate(inventory, "reservation", "Reservation", { idExpression: "command.orderId", state: [{ name: "reserved", type: "boolean", initial: false }] });
  board
    .decide("reservation", reserveStock, [
      { when: "state.reserved", reject: "Stock is already reserved for this order." },
      { emit: [{ event: stockReserved, mapping: { orderId: "command.orderId", reservedAt: "$now()" } }] },
    ])
    .decide("reservation", releaseStock, [
      { when: "$not(state.reserved)", reject: "Nothing is reserved for this order." },
      { emit: [{ event: stockReleased, mapping: { orderId: "command.orderId" } }] },
    ])
    .evolve("reservation", stockReserved, { reserved: "true" })
    .evolve("reservation", stockReleased, { reserved: "false" });

  const restockItem = board.command(inventory, "restock-item", "RestockItem", payload({ sku: "string", quantity: "integer" }));
  const itemRestocked = board.event(inventory, "item-restocked", "ItemRestocked", payload({ sku: "string", quantity: "integer", onHand: "integer" }), {
    visibility: "public",
    description: "Carries the new stock level, so other contexts can keep their own view of it.",
  });
  board.aggregate(inventory, "inventory-item", "InventoryItem", { idExpression: "command.sku", state: [{ name: "onHand", type: "integer", initial: 0 }] });
  board
    .decide("inventory-item", restockItem, [
      { when: "command.quantity <= 0", reject: "Restock at least one unit." },
      { emit: [{ event: itemRestocked, mapping: { sku: "command.sku", quantity: "command.quantity", onHand: "state.onHand + command.quantity" } }] },
    ])
    .evolve("inventory-item", itemRestocked, { onHand: "event.onHand" });

  const takePayment = board.command(payments, "take-payment", "TakePayment", payload({ orderId: "string", customerId: "string", amount: "number" }));
  const paymentTaken = board.event(payments, "payment-taken", "PaymentTaken", payload({ orderId: "string", paymentId: "string", amount: "number" }), { visibility: "public" });
  const paymentDeclined = board.event(payments, "payment-declined", "PaymentDeclined", payload({ orderId: "string", reason: "string" }), { visibility: "public" });
  board.aggregate(payments, "payment", "Payment", { idExpression: "command.orderId", state: [{ name: "taken", type: "boolean", initial: false }] });
  board
    .decide("payment", takePayment, [
      { when: "state.taken", reject: "This order is already paid." },
      { when: "command.amount > 5000", emit: [{ event: paymentDeclined, mapping: { orderId: "command.orderId", reason: "'Amount above the card limit'" } }] },
      { emit: [{ event: paymentTaken, mapping: { orderId: "command.orderId", paymentId: "'pay-' & command.orderId", amount: "command.amount" } }] },
    ])
    .evolve("payment", paymentTaken, { taken: "true" });

  const shipOrder = board.command(shipping, "ship-order", "ShipOrder", payload({ orderId: "string", lines: listOf(orderLine) }));
  const orderShipped = board.event(shipping, "order-shipped", "OrderShipped", payload({ orderId: "string", trackingCode: "string", shippedAt: "date-time" }), {
    visibility: "public",
    lifecycle: "complete",
  });
  board.aggregate(shipping, "shipment", "Shipment", { idExpression: "command.orderId", state: [{ name: "shipped", type: "boolean", initial: false }] });
  board
    .decide("shipment", shipOrder, [
      { when: "state.shipped", reject: "This order has already been shipped." },
      { emit: [{ event: orderShipped, mapping: { orderId: "command.orderId", trackingCode: "'TRK-' & $uppercase(command.orderId)", shippedAt: "$now()" } }] },
    ])
    .evolve("shipment", orderShipped, { shipped: "true" });

  board.policy(orders, "validate-requested-order", "Validate requested order", {
    description: "Orders checks stock in its own view before anything is reserved or paid.",
    on: [orderRequested],
    issue: validateOrder,
    correlationKey: "event.orderId",
    mapping: { orderId: "event.orderId", lines: "event.lines" },
  });
  board.policy(inventory, "reserve-for-order", "Reserve for order", {
    on: [orderValidated],
    issue: reserveStock,
    correlationKey: "event.orderId",
    mapping: { orderId: "event.orderId", lines: "process.events.OrderRequested.lines" },
    compensation: releaseStock,
  });
  board.policy(payments, "charge-reserved-order", "Charge reserved order", {
    on: [stockReserved],
    issue: takePayment,
    correlationKey: "event.orderId",
    mapping: { orderId: "event.orderId", customerId: "process.events.OrderRequested.customerId", amount: "process.events.OrderRequested.total" },
    deadline: { afterMs: 15 * 60_000 },
  });
  board.policy(orders, "confirm-paid-order", "Confirm paid order", {
    description: "Only Orders moves an order to confirmed (single writer).",
    on: [paymentTaken],
    issue: confirmOrder,
    correlationKey: "event.orderId",
    mapping: { orderId: "event.orderId", paymentId: "event.paymentId" },
  });
  board.policy(orders, "reject-unpaid-order", "Reject unpaid order", {
    on: [paymentDeclined],
    issue: rejectOrder,
    correlationKey: "event.orderId",
    mapping: { orderId: "event.orderId", reason: "event.reason" },
  });
  board.policy(shipping, "ship-confirmed-order", "Ship confirmed order", {
    on: [orderConfirmed],
    issue: shipOrder,
    correlationKey: "event.orderId",
    mapping: { orderId: "event.orderId", lines: "process.events.OrderRequested.lines" },
  });

  board.actor(null, "customer", "Customer", [placeOrder], "Orders through the shop and waits for confirmation or rejection.");
  board.actor(null, "warehouse", "Warehouse", [restockItem], "Books incoming stock.");

  board.readModel(orders, "stock-levels", "StockLevels", {
    description: "Orders' own copy of stock per SKU, built from Inventory's events; ValidateOrder reads it ($view) before stock is reserved or payment taken.",
    fields: [
      { name: "sku", type: "string" },
      { name: "onHand", type: "integer", initial: 0 },
      { name: "updatedAt", type: "date-time" },
    ],
    updates: [{ event: itemRestocked, key: "event.sku", set: { sku: "event.sku", onHand: "event.onHand", updatedAt: "meta.occurredAt" } }],
  });
  board.readModel(orders, "order-status", "OrderStatus", {
    description: "What the customer sees while waiting.",
    fields: [
      { name: "orderId", type: "string" },
      { name: "status", type: "string" },
      { name: "total", type: "number" },
      { name: "trackingCode", type: "string" },
    ],
    updates: [
      { event: orderRequested, key: "event.orderId", set: { orderId: "event.orderId", status: "'requested'", total: "event.total" } },
      { event: orderValidated, key: "event.orderId", set: { status: "'validated'" } },
      { event: orderConfirmed, key: "event.orderId", set: { status: "'confirmed'" } },
      { event: orderRejected, key: "event.orderId", set: { status: "'rejected: ' & event.reason" } },
      { event: orderShipped, key: "event.orderId", set: { status: "'shipped'", trackingCode: "event.trackingCode" } },
    ],
  });
}
