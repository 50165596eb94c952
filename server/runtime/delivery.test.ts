/**
 * Delivery and failure handling on the order saga: an external carrier behind a signed webhook,
 * deadlines and compensation, rejections, contexts taken down, failing commands parked in the
 * dead-letter queue (holding back their stream) and redriven or discarded, webhook retries,
 * duplicate deliveries, and invalid start payloads.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testStorageKinds } from "../db/testing.ts";
import { readStream } from "../eventstore/index.ts";
import { PayloadValidationError } from "./errors.ts";
import { onInspection, type InspectionEvent } from "./inspection.ts";
import { orderSagaDefinition } from "./testing/boards.ts";
import { startCarrier, type Carrier } from "./testing/carrier.ts";
import { eventually, ManualClock, openHarness, publishAndDeploy, type Harness } from "./testing/harness.ts";
import { createSink, sinkCounts, sinkHooks } from "./testing/sink.ts";

const BOARD = "orders";
const SECRET = "carrier-secret";

describe.each(testStorageKinds)("delivery on %s", (kind) => {
  let harness: Harness;
  let carrier: Carrier;
  const clock = new ManualClock();
  const seen: InspectionEvent[] = [];
  let stopListening: () => void;

  beforeAll(async () => {
    carrier = await startCarrier(SECRET);
    harness = await openHarness(kind, { clock, hooks: sinkHooks(), worker: { pollIntervalMs: 20, downRetryMs: 30 } });
    await createSink(harness.storage.sql);
    await publishAndDeploy(harness.runtime, BOARD, orderSagaDefinition({ carrierUrl: carrier.url, carrierSecret: SECRET, shippingDeadlineMs: 60_000 }));
    stopListening = onInspection((event) => seen.push(event));
  });
  afterAll(async () => {
    stopListening();
    await harness.dispose();
    await carrier.close();
  });

  const placeOrder = (orderId: string, amount = 120) => harness.runtime.start({ boardId: BOARD, payload: { orderId, amount, customer: "ada" } });
  const reportShipped = (orderId: string, correlationId?: string) =>
    harness.runtime.ingest(
      new Headers({ "content-type": "application/cloudevents+json" }),
      JSON.stringify({
        specversion: "1.0",
        id: `shipped-${orderId}`,
        source: "/carrier",
        type: "ParcelShipped",
        boardid: BOARD,
        ...(correlationId ? { correlationid: correlationId } : {}),
        data: { reference: orderId, tracking: `TRACK-${orderId}` },
      }),
    );
  const statusOf = async (instanceId: string) => (await harness.runtime.getInstance(instanceId).catch(() => undefined))?.instance.status;
  const waitForStatus = (instanceId: string, status: string, timeoutMs = 15_000) =>
    eventually(async () => ((await statusOf(instanceId)) === status ? true : undefined), `${instanceId} to be ${status}`, timeoutMs);
  const carrierGot = (orderId: string) => eventually(async () => carrier.received.find((delivery) => (delivery.event.data as { orderId: string }).orderId === orderId), `the carrier to receive ${orderId}`);

  it("sends ShipOrder to the carrier as a signed CloudEvent and completes when the carrier reports back", async () => {
    const started = await placeOrder("o-1");
    const delivery = await carrierGot("o-1");
    expect(delivery.contentType).toBe("application/cloudevents+json");
    expect(delivery.signatureValid).toBe(true);
    expect(delivery.event).toMatchObject({
      specversion: "1.0",
      type: "ShipmentRequested",
      data: { orderId: "o-1", parcelValue: 120 },
      correlationid: started.correlationId,
      boardid: BOARD,
      boardversion: 1,
      sagaboardkind: "command",
      subject: started.instanceId,
    });

    const reported = await reportShipped("o-1", started.correlationId);
    expect(reported.accepted).toEqual([expect.objectContaining({ kind: "event", name: "OrderShipped", duplicate: false, instanceIds: [started.instanceId] })]);
    await waitForStatus(started.instanceId, "completed");
    const detail = await harness.runtime.getInstance(started.instanceId);
    expect(detail.timers).toEqual([expect.objectContaining({ kind: "deadline", stepId: "ship", status: "cancelled" })]);
    expect(detail.state.events.OrderShipped).toEqual({ orderId: "o-1", trackingCode: "TRACK-o-1" });

    const again = await reportShipped("o-1", started.correlationId);
    expect(again.accepted[0]).toMatchObject({ duplicate: true, instanceIds: [] });
    expect((await readStream(harness.storage.sql, `${BOARD}:inbound:shipped-o-1`)).events.map((event) => event.type)).toEqual(["OrderShipped"]);
  });

  it("refunds the charge when the carrier does not answer before the deadline", async () => {
    const started = await placeOrder("o-2");
    await carrierGot("o-2");
    clock.advance(61_000);
    await waitForStatus(started.instanceId, "compensated");
    const payment = await readStream(harness.storage.sql, `${BOARD}:Payment:o-2`);
    expect(payment.events.map((event) => event.type)).toEqual(["PaymentCharged", "PaymentRefunded"]);
    const detail = await harness.runtime.getInstance(started.instanceId);
    expect(detail.timers).toEqual([expect.objectContaining({ kind: "deadline", status: "fired" })]);
    expect(detail.instance.reason).toBe("every compensation was handled; compensating because the deadline of Ship the order passed");
    expect(detail.history.map((record) => record.type)).toEqual(expect.arrayContaining(["$TimerFired", "$StepTimedOut", "$CommandOutcomeReceived"]));
  });

  it("fails the order when the charge is rejected, recording the reason", async () => {
    const started = await placeOrder("o-big", 5000);
    await waitForStatus(started.instanceId, "failed");
    const detail = await harness.runtime.getInstance(started.instanceId);
    expect(detail.instance.reason).toContain("The amount is over the card limit.");
    const rejections = await readStream(harness.storage.sql, `${BOARD}:Payment:o-big:rejections`);
    expect(rejections.events[0]).toMatchObject({ type: "$CommandRejected", data: { command: "ChargePayment", reason: "The amount is over the card limit.", code: "rule" } });
  });

  it("makes instances wait while a context is down and resumes them when it is back", async () => {
    await harness.runtime.updateContextSettings(BOARD, "payments", { down: true });
    const started = await placeOrder("o-3");
    await eventually(
      async () => (seen.filter((event) => event.kind === "message.waiting" && event.instanceId === started.instanceId).length >= 3 ? true : undefined),
      "ChargePayment to wait for Payments",
    );
    const waiting = await harness.runtime.getInstance(started.instanceId);
    expect(waiting.instance.status).toBe("running");
    expect(waiting.pending).toEqual([expect.objectContaining({ type: "ChargePayment", attempts: 0, status: "pending" })]);
    expect(carrier.received.some((delivery) => (delivery.event.data as { orderId: string }).orderId === "o-3")).toBe(false);

    await harness.runtime.updateContextSettings(BOARD, "payments", { down: false });
    await carrierGot("o-3");
    await reportShipped("o-3");
    await waitForStatus(started.instanceId, "completed");
  });

  it("parks a command that keeps failing, holds back the rest of its stream, and redrives it", async () => {
    await harness.runtime.updateContextSettings(BOARD, "payments", { failureRate: 1 });
    const started = await placeOrder("o-4");
    const parked = await eventually(async () => {
      const page = await harness.runtime.listDeadLetters({ boardId: BOARD, limit: 10 });
      return page.messages.find((message) => message.instanceId === started.instanceId);
    }, "ChargePayment to be parked");
    expect(parked).toMatchObject({ type: "ChargePayment", status: "parked", attempts: 3 });
    expect((await harness.runtime.getDeadLetter(parked.id)).lastError).toContain("injected failure");
    expect(seen.filter((event) => event.kind === "message.failed" && event.outboxId === parked.id).map((event) => (event as { attempt: number }).attempt)).toEqual([1, 2]);

    // Same stream (the payment of o-4): it waits behind the parked charge.
    const refund = await harness.runtime.sendCommand({ boardId: BOARD, name: "RefundPayment", payload: { orderId: "o-4", amount: 120 } });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await harness.runtime.commandOutcome(refund.messageId)).toEqual({ kind: "pending" });

    await harness.runtime.updateContextSettings(BOARD, "payments", { failureRate: 0 });
    await harness.runtime.redrive(parked.id);
    await eventually(async () => ((await harness.runtime.commandOutcome(refund.messageId)).kind === "accepted" ? true : undefined), "the refund after the charge");
    const payment = await readStream(harness.storage.sql, `${BOARD}:Payment:o-4`);
    expect(payment.events.map((event) => event.type)).toEqual(["PaymentCharged", "PaymentRefunded"]);
    expect((await harness.runtime.listDeadLetters({ boardId: BOARD, limit: 10 })).messages).toEqual([]);
  });

  it("parks a webhook the carrier refuses with 400 at once; discarding it compensates the order", async () => {
    carrier.answer = (event) => ((event.data as { orderId: string }).orderId === "o-5" ? 400 : 200);
    const started = await placeOrder("o-5");
    const parked = await eventually(async () => (await harness.runtime.listDeadLetters({ boardId: BOARD, limit: 10 })).messages.find((message) => message.instanceId === started.instanceId), "ShipOrder to be parked");
    expect(parked).toMatchObject({ type: "ShipOrder", attempts: 1 });
    expect(parked.lastError).toContain("answered 400");
    await harness.runtime.discard(parked.id);
    await waitForStatus(started.instanceId, "compensated");
    const payment = await readStream(harness.storage.sql, `${BOARD}:Payment:o-5`);
    expect(payment.events.map((event) => event.type)).toEqual(["PaymentCharged", "PaymentRefunded"]);
    expect(seen.some((event) => event.kind === "message.discarded" && event.outboxId === parked.id)).toBe(true);
  });

  it("retries a webhook that answers 503 with backoff until it is delivered", async () => {
    let refusals = 2;
    carrier.answer = (event) => ((event.data as { orderId: string }).orderId === "o-6" && refusals-- > 0 ? 503 : 200);
    const started = await placeOrder("o-6");
    await eventually(async () => (carrier.received.filter((delivery) => (delivery.event.data as { orderId: string }).orderId === "o-6").length === 3 ? true : undefined), "three tries");
    const tries = carrier.received.filter((delivery) => (delivery.event.data as { orderId: string }).orderId === "o-6");
    expect(new Set(tries.map((delivery) => delivery.event.id)).size).toBe(1);
    await eventually(async () => ((await harness.runtime.getInstance(started.instanceId)).pending.length === 0 ? true : undefined), "ShipOrder to leave the outbox");
    expect(seen.filter((event) => event.kind === "message.failed" && event.instanceId === started.instanceId && event.type === "ShipOrder")).toHaveLength(2);
    carrier.answer = () => 200;
  });

  it("delivers every message two to five times without a second effect", async () => {
    const extra = [1, 2, 3, 4];
    for (const [index, context] of ["orders", "payments", "shipping"].entries()) {
      await harness.runtime.updateContextSettings(BOARD, context, { duplicateDeliveries: extra[(index * 3 + 1) % 4]! });
    }
    carrier.answer = (event) => {
      const orderId = (event.data as { orderId: string }).orderId;
      if (orderId.startsWith("dup-")) setTimeout(() => void reportShipped(orderId).catch(() => {}), 0);
      return 200;
    };
    const before = await sinkCounts(harness.storage.sql);
    const duplicatesBefore = harness.worker!.stats.duplicates;
    const orders = await Promise.all(Array.from({ length: 8 }, (_, index) => placeOrder(`dup-${index}`)));
    for (const order of orders) await waitForStatus(order.instanceId, "completed", 30_000);
    // The carrier may report before the transaction that took ShipOrder out of the outbox committed.
    for (const order of orders) await eventually(async () => ((await harness.runtime.getInstance(order.instanceId)).pending.length === 0 ? true : undefined), "an empty outbox");
    const after = await sinkCounts(harness.storage.sql);
    expect(after.duplicated).toBe(0);
    // Per order: ChargePayment, and deliveries of OrderPlaced, PaymentCharged and OrderShipped to the instance, ShipOrder.
    expect(after.effects - before.effects).toBe(8 * 5);
    expect(harness.worker!.stats.duplicates - duplicatesBefore).toBeGreaterThanOrEqual(8 * 5);
    for (const order of orders) {
      const payment = await readStream(harness.storage.sql, `${BOARD}:Payment:${order.correlationKey}`);
      expect(payment.events.map((event) => event.type)).toEqual(["PaymentCharged"]);
    }
    for (const context of ["orders", "payments", "shipping"]) await harness.runtime.updateContextSettings(BOARD, context, { duplicateDeliveries: 0 });
  });

  it("refuses an invalid start payload, listing every violation, and stores nothing", async () => {
    const count = async () =>
      (
        await harness.storage.sql.query<{ events: number; outbox: number; instances: number }>(
          `SELECT (SELECT count(*) FROM events)::int AS events, (SELECT count(*) FROM runtime_outbox)::int AS outbox, (SELECT count(*) FROM runtime_instances)::int AS instances`,
        )
      ).rows[0];
    const before = await count();
    const error = await harness.runtime.start({ boardId: BOARD, payload: { orderId: 7, amount: "lots" } }).then(
      () => undefined,
      (thrown: unknown) => thrown,
    );
    expect(error).toBeInstanceOf(PayloadValidationError);
    expect((error as PayloadValidationError).violations).toEqual(["customer: is required", "amount: expected a number, got string", "orderId: expected a string, got number"]);
    expect(await count()).toEqual(before);
  });
});
