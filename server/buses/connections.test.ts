/** Redis streams as bindings: entries become commands once per id, outbound entries carry the message id. */
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testStorageKinds } from "../db/testing.ts";
import { readStream } from "../eventstore/index.ts";
import { openHarness, type Harness } from "../runtime/testing/harness.ts";
import { compileTemplate, eventually, publishAndDeploy, withUniqueAddresses } from "../scenarios/scenario.ts";
import { BusConnections, unwrapInbound } from "./connections.ts";

const REDIS_URL = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";

describe("unwrapInbound", () => {
  it("reads CloudEvents, queue messages {id, name, payload} and bare payloads", () => {
    expect(unwrapInbound({ specversion: "1.0", id: "e1", type: "t", source: "/x", data: { a: 1 } }, [])).toEqual({ id: "e1", type: "t", data: { a: 1 } });
    expect(unwrapInbound({ id: "q1", name: "change_batch_quantity", payload: { qty: 2 } }, ["change_batch_quantity"])).toEqual({ id: "q1", type: "change_batch_quantity", data: { qty: 2 } });
    expect(unwrapInbound({ id: "q1", name: "other", payload: { qty: 2 } }, ["change_batch_quantity"])).toEqual({ data: { id: "q1", name: "other", payload: { qty: 2 } } });
    expect(unwrapInbound({ batchref: "b", qty: 1 }, ["change_batch_quantity"])).toEqual({ data: { batchref: "b", qty: 1 } });
  });
});

describe.each(testStorageKinds)("Redis stream bindings on %s", { timeout: 60_000 }, (kind) => {
  let harness: Harness;
  let buses: BusConnections;
  let redis: Redis;
  const compiled = withUniqueAddresses(compileTemplate("batch-allocation", "streams"));
  const { address } = compiled;
  const definition = {
    ...compiled.definition,
    externalSystems: compiled.definition.externalSystems.map((system) => (system.binding.kind === "redis" ? { ...system, binding: { ...system.binding, mode: "stream" as const } } : system)),
  };

  beforeAll(async () => {
    harness = await openHarness(kind);
    await publishAndDeploy(harness.runtime, "streams", definition);
    buses = new BusConnections({ runtime: harness.runtime, redisUrl: REDIS_URL, pollIntervalMs: 200 });
    await buses.start();
    redis = new Redis(REDIS_URL);
  });
  afterAll(async () => {
    await buses?.close();
    await redis?.del(address("change_batch_quantity"), address("line_allocated")).catch(() => {});
    redis?.disconnect();
    await harness?.dispose();
  });

  it("joins a consumer group, ingests each entry id once, and writes Allocated entries with their message id", async () => {
    expect(buses.status().bindings.find((binding) => binding.direction === "inbound")).toMatchObject({
      transport: "redis-stream",
      group: "sagaboard:streams:batch-quantity-feed",
      subscription: { state: "subscribed" },
    });
    await harness.runtime.sendCommand({ boardId: "streams", name: "AddBatch", payload: { batchref: "b1", sku: "CUP", qty: 10 } });
    await harness.runtime.sendCommand({ boardId: "streams", name: "Allocate", payload: { orderid: "o9", sku: "CUP", qty: 4 } });

    const entries = await eventually(async () => {
      const found = (await redis.xrange(address("line_allocated"), "-", "+")) as [string, string[]][];
      return found.length > 0 ? found : undefined;
    }, "an entry on the line_allocated stream");
    const fields = Object.fromEntries(entries[0]![1].reduce<string[][]>((pairs, value, index, all) => (index % 2 === 0 ? [...pairs, [value, all[index + 1]!]] : pairs), []));
    expect(JSON.parse(fields.data!)).toEqual({ orderid: "o9", sku: "CUP", qty: 4, batchref: "b1" });
    expect(fields.id).toMatch(/^[0-9a-f-]{36}$/);

    for (let copy = 0; copy < 2; copy++) await redis.xadd(address("change_batch_quantity"), "*", "data", JSON.stringify({ batchref: "b1", qty: 12 }), "id", "feed-42");
    await eventually(async () => ((await harness.runtime.commandOutcome("feed-42")).kind === "accepted" ? true : undefined), "the entry's command");
    await new Promise((resolve) => setTimeout(resolve, 500));
    const stream = await readStream(harness.storage.sql, "streams:Allocations:main-warehouse");
    expect(stream.events.filter((event) => event.type === "BatchQuantityChanged").map((event) => event.data)).toEqual([{ batchref: "b1", qty: 12 }]);
    const pending = (await redis.xpending(address("change_batch_quantity"), "sagaboard:streams:batch-quantity-feed")) as [number, ...unknown[]];
    expect(pending[0]).toBe(0);
  });

  it("follows deploy and undeploy: a new version takes the subscription over, an undeployed board has none", async () => {
    const inbound = () => buses.status().bindings.filter((binding) => binding.direction === "inbound");
    const { version } = await harness.runtime.publishDefinition("streams", { ...definition, description: `${definition.description} (v2)` });
    await harness.runtime.deploy("streams", version.version);
    await buses.refresh();
    expect(inbound().map((binding) => [binding.versionId, binding.subscription?.state])).toEqual([[`streams@${version.version}`, "subscribed"]]);

    await harness.runtime.undeploy("streams", version.version);
    await buses.refresh();
    expect(inbound()).toEqual([]);
    expect(buses.status().bindings.filter((binding) => binding.direction === "outbound")).toEqual([]);

    await harness.runtime.deploy("streams", version.version);
    await eventually(async () => inbound()[0]?.subscription?.state === "subscribed" || undefined, "the poll to subscribe again");
    await redis.xadd(address("change_batch_quantity"), "*", "data", JSON.stringify({ batchref: "b1", qty: 15 }), "id", "feed-43");
    await eventually(async () => ((await harness.runtime.commandOutcome("feed-43")).kind === "accepted" ? true : undefined), "the entry's command on the new version");
  });
});
