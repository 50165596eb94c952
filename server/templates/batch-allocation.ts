/**
 * SEEDS 004: allocation driven by an external Redis broker. A `change_batch_quantity` message
 * becomes ChangeBatchQuantity; while the batch holds less than is allocated to it, its latest line
 * is deallocated and allocated again elsewhere, and every Allocated is published on the external
 * `line_allocated` channel.
 */
import type { BoardBuilder } from "./builder.ts";
import { payload } from "./builder.ts";

/** Batches of the command's SKU with room for the command's quantity, in the order they were added. */
const batchesWithRoom =
  "$filter(state.batches, function($b) { $b.sku = $$.command.sku and $b.purchased - $sum([$$.state.lines[batchref = $b.batchref].qty]) >= $$.command.qty })";
const latestLineOnBatch = "state.lines[batchref = $$.command.batchref][-1]";

export function batchAllocation(board: BoardBuilder): void {
  const allocation = board.context("allocation", "Allocation", {
    color: "#0891b2",
    description: "Decides which batch each order line is allocated to.",
  });

  const addBatch = board.command(allocation, "add-batch", "AddBatch", payload({ batchref: "string", sku: "string", qty: "integer" }), "Purchasing registers a batch of stock.");
  const allocate = board.command(allocation, "allocate", "Allocate", payload({ orderid: "string", sku: "string", qty: "integer" }), "Put an order line on a batch.");
  const changeBatchQuantity = board.command(
    allocation,
    "change-batch-quantity",
    "ChangeBatchQuantity",
    payload({ batchref: "string", qty: "integer" }),
    "A batch turned out smaller (or larger) than ordered.",
  );

  const batchAdded = board.event(allocation, "batch-added", "BatchAdded", payload({ batchref: "string", sku: "string", qty: "integer" }));
  const allocated = board.event(allocation, "allocated", "Allocated", payload({ orderid: "string", sku: "string", qty: "integer", batchref: "string" }), {
    visibility: "public",
  });
  const outOfStock = board.event(allocation, "out-of-stock", "OutOfStock", payload({ orderid: "string", sku: "string" }), { visibility: "public" });
  const lineDeallocated = board.event(
    allocation,
    "line-deallocated",
    "LineDeallocated",
    payload({ orderid: "string", sku: "string", qty: "integer", batchref: "string", newQty: "integer" }),
    { description: "The batch shrank below what is allocated to it; its latest line must go elsewhere." },
  );
  const batchQuantityChanged = board.event(allocation, "batch-quantity-changed", "BatchQuantityChanged", payload({ batchref: "string", qty: "integer" }));

  const allocations = board.aggregate(allocation, "allocations", "Allocations", {
    description:
      "Every batch and every allocated line of the warehouse, decided in one stream: the batch-quantity message names only the batch, so batches and lines share one consistency boundary.",
    idExpression: "'main-warehouse'",
    snapshotEvery: 200,
    state: [
      { name: "batches", type: "array", initial: [] },
      { name: "lines", type: "array", initial: [] },
    ],
  });
  board
    .decide(allocations, addBatch, [
      { when: "$exists(state.batches[batchref = $$.command.batchref])", reject: "A batch with this reference already exists." },
      { when: "command.qty <= 0", reject: "A batch holds at least one unit." },
      { emit: [{ event: batchAdded, mapping: { batchref: "command.batchref", sku: "command.sku", qty: "command.qty" } }] },
    ])
    .decide(allocations, allocate, [
      { when: "$exists(state.lines[orderid = $$.command.orderid and sku = $$.command.sku])", reject: "This order line is already allocated." },
      { when: `$not($exists(${batchesWithRoom}))`, emit: [{ event: outOfStock, mapping: { orderid: "command.orderid", sku: "command.sku" } }] },
      {
        emit: [
          {
            event: allocated,
            mapping: { orderid: "command.orderid", sku: "command.sku", qty: "command.qty", batchref: `${batchesWithRoom}[0].batchref` },
          },
        ],
      },
    ])
    .decide(allocations, changeBatchQuantity, [
      { when: "$not($exists(state.batches[batchref = $$.command.batchref]))", reject: "There is no batch with this reference." },
      {
        when: "$sum(state.lines[batchref = $$.command.batchref].qty) > command.qty",
        emit: [
          {
            event: lineDeallocated,
            mapping: {
              orderid: `${latestLineOnBatch}.orderid`,
              sku: `${latestLineOnBatch}.sku`,
              qty: `${latestLineOnBatch}.qty`,
              batchref: "command.batchref",
              newQty: "command.qty",
            },
          },
        ],
      },
      { emit: [{ event: batchQuantityChanged, mapping: { batchref: "command.batchref", qty: "command.qty" } }] },
    ])
    .evolve(allocations, batchAdded, { batches: "$append(state.batches, [{ 'batchref': event.batchref, 'sku': event.sku, 'purchased': event.qty }])" })
    .evolve(allocations, allocated, {
      lines: "$append(state.lines, [{ 'orderid': event.orderid, 'sku': event.sku, 'qty': event.qty, 'batchref': event.batchref }])",
    })
    .evolve(allocations, lineDeallocated, {
      lines: "[state.lines[$not(orderid = $$.event.orderid and batchref = $$.event.batchref)]]",
      batches: "[state.batches.(batchref = $$.event.batchref ? $merge([$, { 'purchased': $$.event.newQty }]) : $)]",
    })
    .evolve(allocations, batchQuantityChanged, {
      batches: "[state.batches.(batchref = $$.event.batchref ? $merge([$, { 'purchased': $$.event.qty }]) : $)]",
    });

  board.policy(allocation, "reallocate-line", "Reallocate line", {
    description: "A line taken off a shrunken batch is allocated again, to a batch with room.",
    on: [lineDeallocated],
    issue: allocate,
    mapping: { orderid: "event.orderid", sku: "event.sku", qty: "event.qty" },
  });
  board.policy(allocation, "keep-reducing-batch", "Keep reducing batch", {
    description: "Applies the new quantity again until the batch holds no more than is allocated to it.",
    on: [lineDeallocated],
    issue: changeBatchQuantity,
    mapping: { batchref: "event.batchref", qty: "event.newQty" },
  });

  board.externalSystem(null, "batch-quantity-feed", "Batch quantity feed", {
    description: "Redis pub/sub channel on which other systems announce changed batch quantities.",
    binding: { kind: "redis", channel: "change_batch_quantity", mode: "pubsub" },
    inbound: [{ message: "change_batch_quantity", target: changeBatchQuantity, mapping: { batchref: "message.batchref", qty: "message.qty" } }],
  });
  board.externalSystem(null, "allocation-publications", "Allocation publications", {
    description: "Redis pub/sub channel where every allocation is announced.",
    binding: { kind: "redis", channel: "line_allocated", mode: "pubsub" },
    outbound: [
      { source: allocated, message: "line_allocated", mapping: { orderid: "event.orderid", sku: "event.sku", qty: "event.qty", batchref: "event.batchref" } },
    ],
  });
  board.actor(null, "purchasing", "Purchasing", [addBatch], "Registers incoming batches.");
  board.actor(null, "shop", "Shop", [allocate], "Asks for order lines to be allocated.");

  board.readModel(allocation, "allocations-by-order", "AllocationsByOrder", {
    description: "Where each order line stands.",
    fields: [
      { name: "orderid", type: "string" },
      { name: "sku", type: "string" },
      { name: "qty", type: "integer" },
      { name: "batchref", type: "string" },
      { name: "status", type: "string" },
    ],
    updates: [
      {
        event: allocated,
        key: "event.orderid & '/' & event.sku",
        set: { orderid: "event.orderid", sku: "event.sku", qty: "event.qty", batchref: "event.batchref", status: "'allocated'" },
      },
      { event: lineDeallocated, key: "event.orderid & '/' & event.sku", set: { status: "'reallocating'" } },
      { event: outOfStock, key: "event.orderid & '/' & event.sku", set: { orderid: "event.orderid", sku: "event.sku", status: "'out of stock'" } },
    ],
  });
}
