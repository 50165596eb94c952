/**
 * SEEDS 004 over the machine's Redis: change_batch_quantity arrives on a channel, becomes
 * ChangeBatchQuantity, the line is reallocated, and Allocated leaves on line_allocated.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testStorageKinds } from "../db/testing.ts";
import { readStream } from "../eventstore/index.ts";
import { Runtime } from "../runtime/index.ts";
import { openHarness, type Harness } from "../runtime/testing/harness.ts";
import type { ExternalBus, InboundMessage } from "../buses/bus.ts";
import { BusConnections } from "../buses/connections.ts";
import { createRedisBus } from "../buses/redis.ts";
import { compileTemplate, eventually, publishAndDeploy, withUniqueAddresses } from "./scenario.ts";

const REDIS_URL = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";

describe.each(testStorageKinds)("batch allocation over Redis on %s", { timeout: 90_000 }, (kind) => {
  let harness: Harness;
  let buses: BusConnections;
  let outside: ExternalBus;
  const heard: InboundMessage[] = [];
  const { definition, address } = withUniqueAddresses(compileTemplate("batch-allocation", "alloc"));

  beforeAll(async () => {
    harness = await openHarness(kind);
    await publishAndDeploy(harness.runtime, "alloc", definition);
    buses = new BusConnections({ runtime: harness.runtime, redisUrl: REDIS_URL, pollIntervalMs: 200 });
    await buses.start();
    outside = createRedisBus({ url: REDIS_URL });
    // Every channel of this run, to see that nothing but Allocated leaves the runtime.
    await outside.subscribe(address("*").replace(/^\*\./, "*."), (message) => void heard.push(message));
  });
  afterAll(async () => {
    await outside?.close();
    await buses?.close();
    await harness?.dispose();
  });

  const allocations = () => heard.filter((message) => message.address === address("line_allocated"));

  it("reallocates a line when change_batch_quantity shrinks its batch, and publishes Allocated on line_allocated", async () => {
    expect(buses.status().bindings.filter((binding) => binding.direction === "inbound")).toEqual([
      expect.objectContaining({ kind: "redis", address: address("change_batch_quantity"), subscription: expect.objectContaining({ state: "subscribed" }) }),
    ]);
    for (const batch of [
      { batchref: "b1", sku: "LAMP", qty: 10 },
      { batchref: "b2", sku: "LAMP", qty: 10 },
    ]) {
      await harness.runtime.sendCommand({ boardId: "alloc", name: "AddBatch", payload: batch });
    }
    await harness.runtime.sendCommand({ boardId: "alloc", name: "Allocate", payload: { orderid: "o1", sku: "LAMP", qty: 10 } });
    const first = await eventually(async () => allocations()[0], "the first Allocated on line_allocated");
    expect(first.payload).toMatchObject({ specversion: "1.0", type: "line_allocated", data: { orderid: "o1", sku: "LAMP", qty: 10, batchref: "b1" } });

    await outside.publish(address("change_batch_quantity"), { batchref: "b1", qty: 5 });
    // The inbound message became ChangeBatchQuantity: the line came off the shrunken batch.
    const deallocated = await eventually(async () => {
      const found = await readStream(harness.storage.sql, "alloc:Allocations:main-warehouse");
      return found.events.find((event) => event.type === "LineDeallocated");
    }, "LineDeallocated after change_batch_quantity");
    expect(deallocated.data).toEqual({ orderid: "o1", sku: "LAMP", qty: 10, batchref: "b1", newQty: 5 });
    const moved = await eventually(async () => allocations().find((message) => (message.payload as { data: { batchref: string } }).data.batchref === "b2"), "Allocated to b2 (the reallocate-line policy)", 10_000);
    expect(moved.payload).toMatchObject({ data: { orderid: "o1", sku: "LAMP", qty: 10, batchref: "b2" } });
    expect(moved.messageId).toEqual(expect.any(String));
    expect(moved.messageId).not.toBe(first.messageId);

    const stream = await eventually(async () => {
      const found = await readStream(harness.storage.sql, "alloc:Allocations:main-warehouse");
      return found.events.some((event) => event.type === "BatchQuantityChanged") ? found : undefined;
    }, "the batch quantity to change");
    expect(stream.events.map((event) => event.type)).toEqual(["BatchAdded", "BatchAdded", "Allocated", "LineDeallocated", expect.any(String), expect.any(String)]);
    expect(stream.events.slice(4).map((event) => event.type).sort()).toEqual(["Allocated", "BatchQuantityChanged"]);

    // Internal events (LineDeallocated, BatchQuantityChanged, BatchAdded) stay internal.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const outbound = heard.filter((message) => message.address !== address("change_batch_quantity"));
    expect(outbound.map((message) => [message.address, (message.payload as { type: string }).type])).toEqual([
      [address("line_allocated"), "line_allocated"],
      [address("line_allocated"), "line_allocated"],
    ]);
  });

  it("ingests a message carrying an id once, however often it is published", async () => {
    const before = (await readStream(harness.storage.sql, "alloc:Allocations:main-warehouse")).events.length;
    const message = { id: "qty-change-7", name: "change_batch_quantity", payload: { batchref: "b2", qty: 40 } };
    await outside.publish(address("change_batch_quantity"), message);
    await outside.publish(address("change_batch_quantity"), message);
    await eventually(async () => {
      const events = (await readStream(harness.storage.sql, "alloc:Allocations:main-warehouse")).events;
      return events.length > before ? events : undefined;
    }, "the quantity change");
    await new Promise((resolve) => setTimeout(resolve, 500));
    const after = (await readStream(harness.storage.sql, "alloc:Allocations:main-warehouse")).events.slice(before);
    expect(after.map((event) => [event.type, event.data])).toEqual([["BatchQuantityChanged", { batchref: "b2", qty: 40 }]]);
    expect((await harness.runtime.commandOutcome("qty-change-7")).kind).toBe("accepted");
  });

  it("refuses a message that does not match the command's schema, and counts it", async () => {
    const inbound = () => buses.status().bindings.find((binding) => binding.direction === "inbound")!;
    const refusedBefore = inbound().refused;
    await outside.publish(address("change_batch_quantity"), { batchref: "b2", qty: "many" });
    await eventually(async () => inbound().refused > refusedBefore || undefined, "the refusal");
    expect(inbound().lastError).toMatch(/qty/);
  });

  if (kind === "postgresql") it("with two workers on PostgreSQL, only one subscribes to a pub/sub channel", async () => {
    const secondRuntime = new Runtime(harness.storage);
    const second = new BusConnections({ runtime: secondRuntime, redisUrl: REDIS_URL, pollIntervalMs: 200 });
    try {
      await second.start();
      const standby = second.status().bindings.find((binding) => binding.direction === "inbound");
      expect(standby?.subscription).toMatchObject({ state: "standby" });
      const before = (await readStream(harness.storage.sql, "alloc:Allocations:main-warehouse")).events.length;
      await outside.publish(address("change_batch_quantity"), { batchref: "b2", qty: 30 });
      await eventually(async () => {
        const events = (await readStream(harness.storage.sql, "alloc:Allocations:main-warehouse")).events;
        return events.length > before ? events : undefined;
      }, "the quantity change");
      await new Promise((resolve) => setTimeout(resolve, 500));
      const after = (await readStream(harness.storage.sql, "alloc:Allocations:main-warehouse")).events.slice(before);
      expect(after.map((event) => event.type)).toEqual(["BatchQuantityChanged"]);
      // The first worker lets go (its version is undeployed here): the second takes over.
      await buses.close();
      await eventually(async () => second.status().bindings.find((binding) => binding.direction === "inbound")?.subscription?.state === "subscribed" || undefined, "the second worker to subscribe");
    } finally {
      await second.close();
      await secondRuntime.close();
    }
  });
});
