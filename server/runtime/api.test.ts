/** The runtime's tRPC procedures, called through the app router as the UI calls them. */
import { TRPCError } from "@trpc/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCaller } from "@/server/api/root.ts";
import { createTRPCContext } from "@/server/api/trpc.ts";
import { INVALID_PAYLOAD_MESSAGE } from "@/server/api/routers/runtime.ts";
import { openTestStorage, testStorageKinds, type TestStorage } from "@/server/db/testing.ts";
import { getRuntime } from "./runtime.ts";
import { orderSagaBoard } from "./testing/boards.ts";
import { eventually } from "./testing/harness.ts";
import type { RuntimeWorker } from "./worker.ts";

async function rejection(promise: Promise<unknown>): Promise<TRPCError> {
  const error = await promise.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(TRPCError);
  return error as TRPCError;
}

const application = (applicationId: string) => ({
  applicationId,
  applicant: { firstName: "Grace", lastName: "Hopper", dateOfBirth: "1906-12-09", postcode: "NY" },
  coverage: { product: "motor", sumInsured: 40_000, deductible: 500, startDate: "2027-01-01T00:00:00.000Z" },
  submittedAt: "2026-11-23T10:00:00.000Z",
});

describe.each(testStorageKinds)("runtime router on %s", (kind) => {
  let storage: TestStorage;
  let caller: ReturnType<typeof createCaller>;
  let worker: RuntimeWorker;
  let boardId: string;

  beforeAll(async () => {
    storage = await openTestStorage(kind);
    caller = createCaller(createTRPCContext({ headers: new Headers(), storage }));
    worker = getRuntime(storage).startWorker({ pollIntervalMs: 20 });
    boardId = (await caller.board.create({ name: "Quotes", templateId: "insurance-quote" })).id;
  });
  afterAll(async () => {
    await getRuntime(storage).close();
    await storage.dispose();
  });

  it("publishes immutable numbered versions, returns the same version for an unchanged board, and deploys one", async () => {
    const first = await caller.runtime.publish({ boardId });
    expect(first).toMatchObject({ created: true, version: { version: 1, boardId, deployed: false, processes: [{ id: boardId, name: "Quotes" }] } });
    expect(await caller.runtime.publish({ boardId })).toMatchObject({ created: false, version: { version: 1 } });
    expect((await rejection(caller.runtime.start({ boardId, payload: application("A-0") }))).code).toBe("PRECONDITION_FAILED");
    await caller.runtime.deploy({ boardId, version: 1 });
    expect((await caller.runtime.versions({ boardId })).map((version) => [version.version, version.deployed])).toEqual([[1, true]]);
    expect((await rejection(caller.runtime.deploy({ boardId, version: 9 }))).code).toBe("NOT_FOUND");
  });

  it("starts an instance, lists it by status and correlation key, and shows its state, history, pending commands and timers", async () => {
    const started = await caller.runtime.start({ boardId, payload: application("A-1") });
    await eventually(async () => ((await caller.runtime.instance({ instanceId: started.instanceId })).instance.status === "completed" ? true : undefined), "completion");
    const detail = await caller.runtime.instance({ instanceId: started.instanceId });
    expect(detail.instance).toMatchObject({ boardId, correlationKey: "A-1", status: "completed", correlationId: started.correlationId });
    expect(detail.instance.startedAt).toBeInstanceOf(Date);
    expect(detail.state.status).toBe("completed");
    expect(detail.history[0]).toMatchObject({ type: "$ProcessStarted" });
    expect(detail.pending).toEqual([]);
    expect(detail.timers).toEqual([]);

    const byKey = await caller.runtime.instances({ boardId, correlationKey: "A-1" });
    expect(byKey.instances.map((instance) => instance.id)).toEqual([started.instanceId]);
    expect((await caller.runtime.instances({ boardId, status: "running" })).instances).toEqual([]);
  });

  it("pages through instances newest first", async () => {
    for (const key of ["P-1", "P-2", "P-3"]) {
      const started = await caller.runtime.start({ boardId, payload: application(key) });
      await eventually(async () => ((await caller.runtime.instances({ correlationKey: key })).instances.length === 1 ? true : undefined), `instance ${started.instanceId}`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const first = await caller.runtime.instances({ boardId, limit: 2 });
    const second = await caller.runtime.instances({ boardId, limit: 2, cursor: first.nextCursor! });
    const keys = [...first.instances, ...second.instances].map((instance) => instance.correlationKey);
    expect(keys.slice(0, 3)).toEqual(["P-3", "P-2", "P-1"]);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it("refuses an invalid start payload with every violation, one per line, and stores nothing", async () => {
    const before = await caller.runtime.instances({ boardId, limit: 200 });
    const error = await rejection(caller.runtime.start({ boardId, payload: { applicationId: "A-2", coverage: { product: "boat", sumInsured: "a lot" } } }));
    expect(error.code).toBe("BAD_REQUEST");
    expect(error.message.split("\n")).toEqual([
      `${INVALID_PAYLOAD_MESSAGE} ApplicationSubmitted`,
      "applicant: is required",
      "submittedAt: is required",
      "coverage.deductible: is required",
      "coverage.startDate: is required",
      'coverage.product: must be one of "home", "motor", "life", got "boat"',
      "coverage.sumInsured: expected a number, got string",
    ]);
    expect((await caller.runtime.instances({ boardId, limit: 200 })).instances).toHaveLength(before.instances.length);
  });

  it("sends commands and reports their outcome", async () => {
    const sent = await caller.runtime.sendCommand({ boardId, name: "SubmitApplication", payload: application("A-3") });
    const outcome = await eventually(async () => {
      const found = await caller.runtime.commandOutcome({ messageId: sent.messageId });
      return found.kind === "pending" ? undefined : found;
    }, "the outcome");
    expect(outcome).toMatchObject({ kind: "accepted", events: [{ type: "ApplicationSubmitted" }] });
    // The event it emitted started the process.
    await eventually(async () => ((await caller.runtime.instances({ correlationKey: "A-3" })).instances[0]?.status === "completed" ? true : undefined), "the instance it started");
    expect((await rejection(caller.runtime.sendCommand({ boardId, name: "NoSuchCommand", payload: {} }))).code).toBe("NOT_FOUND");
  });

  it("lists contexts with their settings and changes them", async () => {
    const contexts = await caller.runtime.contexts.list({ boardId });
    expect(contexts.map((context) => context.name).sort()).toEqual(["Rate", "Risk", "Underwriting"]);
    const risk = contexts.find((context) => context.name === "Risk")!;
    expect(risk).toMatchObject({ down: false, latencyMs: 0, failureRate: 0, duplicateDeliveries: 0, webhookUrl: null });
    await caller.runtime.contexts.update({ boardId, contextId: risk.contextId, latencyMs: 5, failureRate: 0.25 });
    expect((await caller.runtime.contexts.list({ boardId })).find((context) => context.contextId === risk.contextId)).toMatchObject({ latencyMs: 5, failureRate: 0.25 });
    expect((await rejection(caller.runtime.contexts.update({ boardId, contextId: risk.contextId, failureRate: 2 }))).code).toBe("BAD_REQUEST");
    await caller.runtime.contexts.update({ boardId, contextId: risk.contextId, latencyMs: 0, failureRate: 0 });
  });

  it("operates the dead-letter queue", async () => {
    // The order saga retries ChargePayment three times, 10-50 ms apart.
    const orders = (await caller.board.create({ name: "Orders", document: orderSagaBoard({ carrierUrl: "http://127.0.0.1:9/unused" }) })).id;
    await caller.runtime.publish({ boardId: orders });
    await caller.runtime.deploy({ boardId: orders, version: 1 });
    await caller.runtime.contexts.update({ boardId: orders, contextId: "payments", failureRate: 1 });
    const started = await caller.runtime.start({ boardId: orders, payload: { orderId: "o-1", amount: 10, customer: "grace" } });
    const parked = await eventually(async () => (await caller.runtime.deadLetters.list({ boardId: orders })).messages.find((message) => message.instanceId === started.instanceId), "a dead letter");
    expect(parked).toMatchObject({ type: "ChargePayment", attempts: 3, status: "parked" });
    expect((await caller.runtime.deadLetters.get({ id: parked.id })).lastError).toContain("injected failure");
    expect(await caller.runtime.commandOutcome({ messageId: parked.messageId })).toMatchObject({ kind: "parked", attempts: 3 });
    await caller.runtime.contexts.update({ boardId: orders, contextId: "payments", failureRate: 0 });
    await caller.runtime.deadLetters.redrive({ id: parked.id });
    await eventually(async () => ((await caller.runtime.commandOutcome({ messageId: parked.messageId })).kind === "accepted" ? true : undefined), "the charge after redrive");
    expect((await rejection(caller.runtime.deadLetters.discard({ id: parked.id }))).code).toBe("NOT_FOUND");
    expect(worker.stats.parked).toBeGreaterThanOrEqual(1);
  });

  it("refuses to publish a board that does not compile, listing the errors", async () => {
    const broken = await caller.board.create({
      name: "Broken",
      document: {
        schemaVersion: 1,
        nodes: [{ id: "c1", type: "command", position: { x: 0, y: 0 }, data: { name: "DoIt", description: "", schema: { type: "object", properties: {}, required: [] } } }],
        edges: [],
      },
    });
    const error = await rejection(caller.runtime.publish({ boardId: broken.id }));
    expect(error.code).toBe("BAD_REQUEST");
    expect(error.message.split("\n").length).toBeGreaterThan(1);
    expect(await caller.runtime.versions({ boardId: broken.id })).toEqual([]);
  });
});
