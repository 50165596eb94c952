/**
 * POST /api/events (app/api/events/route.ts) through the process-wide storage: CloudEvents in
 * structured, batch and binary mode, idempotent by id, validated as a whole, mapped through an
 * external system's inbound mapping, and routed to the version an instance runs on.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { POST } from "@/app/api/events/route.ts";
import { setProcessStorage } from "../db/process-storage.ts";
import { testStorageKinds } from "../db/testing.ts";
import { readStream } from "../eventstore/index.ts";
import { getRuntime } from "./runtime.ts";
import { orderSagaDefinition } from "./testing/boards.ts";
import { eventually, publishAndDeploy } from "./testing/harness.ts";
import { openTestStorage, type TestStorage } from "../db/testing.ts";
import type { Runtime } from "./runtime.ts";

const BOARD = "ingest-orders";

function post(body: unknown, headers: Record<string, string> = { "content-type": "application/cloudevents+json" }) {
  return POST(new Request("http://localhost/api/events", { method: "POST", headers, body: typeof body === "string" ? body : JSON.stringify(body) }));
}

const parcelShipped = (orderId: string, id = `ship-${orderId}`) => ({
  specversion: "1.0",
  id,
  source: "/carrier",
  type: "ParcelShipped",
  boardid: BOARD,
  data: { reference: orderId, tracking: `T-${orderId}` },
});

describe.each(testStorageKinds)("POST /api/events on %s", (kind) => {
  let storage: TestStorage;
  let runtime: Runtime;

  beforeAll(async () => {
    storage = await openTestStorage(kind);
    setProcessStorage(storage);
    runtime = getRuntime(storage);
    runtime.startWorker({ pollIntervalMs: 20 });
    await publishAndDeploy(runtime, BOARD, orderSagaDefinition({ carrierUrl: "http://127.0.0.1:9/unreachable" }));
  });
  afterAll(async () => {
    setProcessStorage(undefined);
    await runtime.close();
    await storage.dispose();
  });

  const statusOf = async (instanceId: string) => (await runtime.getInstance(instanceId).catch(() => undefined))?.instance.status;

  it("accepts an external system's message, maps it to its event, and is idempotent by id", async () => {
    const started = await runtime.start({ boardId: BOARD, payload: { orderId: "i-1", amount: 10, customer: "ada" } });
    const response = await post(parcelShipped("i-1"));
    expect(response.status).toBe(202);
    const body = (await response.json()) as { accepted: { name: string; duplicate: boolean; instanceIds: string[] }[] };
    expect(body.accepted).toEqual([expect.objectContaining({ kind: "event", name: "OrderShipped", duplicate: false, instanceIds: [started.instanceId] })]);
    const again = (await (await post(parcelShipped("i-1"))).json()) as { accepted: { duplicate: boolean }[] };
    expect(again.accepted[0]!.duplicate).toBe(true);
    const stored = await readStream(storage.sql, `${BOARD}:inbound:ship-i-1`);
    expect(stored.events.map((event) => [event.type, event.data])).toEqual([["OrderShipped", { orderId: "i-1", trackingCode: "T-i-1" }]]);
  });

  it("accepts binary mode (ce-* headers) and an event of the definition by name", async () => {
    const response = await post(
      { orderId: "i-2", trackingCode: "T-2" },
      { "content-type": "application/json", "ce-specversion": "1.0", "ce-id": "bin-1", "ce-source": "/carrier", "ce-type": "OrderShipped", "ce-boardid": BOARD },
    );
    expect(response.status).toBe(202);
    expect(((await response.json()) as { accepted: { name: string }[] }).accepted[0]!.name).toBe("OrderShipped");
  });

  it("refuses a batch with one invalid event, listing every problem, and stores none of it", async () => {
    const response = await post(
      [parcelShipped("i-3", "batch-1"), { specversion: "1.0", id: "batch-2", source: "/x", type: "OrderShipped", boardid: BOARD, data: { orderId: 3 } }, { specversion: "0.3", id: "batch-3", type: "Nope", boardid: BOARD }],
      { "content-type": "application/cloudevents-batch+json" },
    );
    expect(response.status).toBe(400);
    const body = (await response.json()) as { error: { violations: string[] } };
    expect(body.error.violations).toEqual(['[2] specversion: specversion must be "1.0"', "[2] source: Invalid input: expected string, received undefined"]);
    const second = await post([parcelShipped("i-3", "batch-1"), { specversion: "1.0", id: "batch-2", source: "/x", type: "OrderShipped", boardid: BOARD, data: { orderId: 3 } }], {
      "content-type": "application/cloudevents-batch+json",
    });
    expect(second.status).toBe(400);
    expect(((await second.json()) as { error: { violations: string[] } }).error.violations).toEqual([
      "[1] OrderShipped trackingCode: is required",
      "[1] OrderShipped orderId: expected a string, got number",
    ]);
    const stored = await storage.sql.query(`SELECT 1 FROM events WHERE message_id IN ('batch-1', 'batch-2', 'batch-3')`);
    expect(stored.rows).toEqual([]);
  });

  it("refuses unknown types, boards and bodies that are not JSON", async () => {
    const unknownType = await post({ ...parcelShipped("i-4"), type: "Teleported" });
    expect(unknownType.status).toBe(400);
    expect(((await unknownType.json()) as { error: { violations: string[] } }).error.violations[0]).toContain('"Teleported" is neither an event');
    expect((await post({ ...parcelShipped("i-4"), boardid: "no-such-board" })).status).toBe(400);
    expect((await post("{not json")).status).toBe(400);
  });

  it("reaches an instance on the version it started on after a newer version is deployed", async () => {
    const started = await runtime.start({ boardId: BOARD, payload: { orderId: "i-5", amount: 10, customer: "ada" } });
    await eventually(async () => ((await runtime.getInstance(started.instanceId).catch(() => undefined))?.state.steps.ship ? true : undefined), "the ship step to run");
    const changed = structuredClone(orderSagaDefinition({ carrierUrl: "http://127.0.0.1:9/unreachable" }));
    changed.description = "version two";
    const { version } = await runtime.publishDefinition(BOARD, changed);
    await runtime.deploy(BOARD, version.version);
    expect(version.version).toBe(2);

    const response = await post(parcelShipped("i-5"));
    expect(((await response.json()) as { accepted: { instanceIds: string[] }[] }).accepted[0]!.instanceIds).toEqual([started.instanceId]);
    await eventually(async () => ((await statusOf(started.instanceId)) === "completed" ? true : undefined), "the version 1 instance to complete");
    expect(started.versionId).toBe(`${BOARD}@1`);
  });
});
