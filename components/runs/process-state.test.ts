import { describe, expect, it } from "vitest";
import type { ProcessDefinitionV1 } from "@/server/definition/v1.ts";
import { indexDefinition } from "@/server/runtime/core/definition-index.ts";
import { decideProcess, evolveProcess, initialProcessState, type ProcessInput, type ProcessRecord, type ProcessState } from "@/server/runtime/core/process.ts";
import { orderSagaDefinition, reminderDefinition, templateDefinition } from "@/server/runtime/testing/boards.ts";
import type { CloudEvent } from "./cloud-events.ts";
import { applyRecord, initialState, stateAfter } from "./process-state.ts";

const NOW = new Date("2026-11-23T10:00:00.000Z");

function eventInput(definition: ProcessDefinitionV1, name: string, payload: Record<string, unknown>): ProcessInput {
  const event = definition.events.find((candidate) => candidate.name === name)!;
  const messageId = `m-${name}`;
  return {
    kind: "event",
    messageId,
    event: { id: event.id, name: event.name },
    payload,
    meta: { messageId, messageName: name, correlationId: "corr-1", causationId: "corr-1", occurredAt: NOW.toISOString(), version: 1 },
  };
}

/** Feeds inputs to the runtime's decider; each step may use the records decided so far to build its input. */
async function recordsOf(definition: ProcessDefinitionV1, steps: ((records: ProcessRecord[]) => ProcessInput)[]): Promise<ProcessRecord[]> {
  const context = { process: definition.processManagers[0]!, index: indexDefinition(definition), instanceId: "instance-1", correlationKey: "k-1" };
  let state = initialProcessState();
  const records: ProcessRecord[] = [];
  for (const [index, step] of steps.entries()) {
    const decision = await decideProcess(context, step(records), state, new Date(NOW.getTime() + index * 1000));
    for (const record of decision.records) {
      state = evolveProcess(state, record);
      records.push(record);
    }
  }
  return records;
}

function issued(records: ProcessRecord[], purpose: "step" | "compensation"): string {
  const found = records.filter((record) => record.type === "$CommandIssued" && record.data.purpose === purpose).at(-1);
  if (found?.type !== "$CommandIssued") throw new Error(`no ${purpose} command issued`);
  return found.data.messageId;
}

function deadline(records: ProcessRecord[]): string {
  const found = records.find((record) => record.type === "$TimerScheduled");
  if (found?.type !== "$TimerScheduled") throw new Error("no timer scheduled");
  return found.data.timerId;
}

function expectSameFold(records: ProcessRecord[]) {
  let theirs: ProcessState = initialProcessState();
  let ours: ProcessState = initialState();
  expect(ours).toEqual(theirs);
  for (const record of records) {
    theirs = evolveProcess(theirs, record);
    ours = applyRecord(ours, record);
    expect(ours).toEqual(theirs);
  }
  return ours;
}

describe("the state after a record matches the runtime's own fold", () => {
  const orders = orderSagaDefinition({ carrierUrl: "http://127.0.0.1:9/carrier", shippingDeadlineMs: 60_000 });
  const placed = eventInput(orders, "OrderPlaced", { orderId: "o-1", amount: 120, customer: "ada" });
  const charged = eventInput(orders, "PaymentCharged", { orderId: "o-1", amount: 120 });

  it("through a deadline, a compensation and its acknowledgement", async () => {
    const records = await recordsOf(orders, [
      () => placed,
      () => charged,
      (so) => ({ kind: "timer-fired", messageId: "t-1", timerId: deadline(so) }),
      (so) => ({ kind: "command-outcome", messageId: "ack-1", commandMessageId: issued(so, "compensation"), outcome: "handled", reason: null }),
    ]);
    const types = new Set(records.map((record) => record.type));
    for (const type of ["$ProcessStarted", "$StatusChanged", "$MessageReceived", "$CommandIssued", "$StepSettled", "$TimerScheduled", "$TimerFired", "$StepTimedOut", "$CommandOutcomeReceived"]) {
      expect(types).toContain(type);
    }
    const final = expectSameFold(records);
    expect(final.status).toBe("compensated");
    expect(final.outstandingCompensations).toEqual([]);
  });

  it("through a rejected command and the failed step", async () => {
    const records = await recordsOf(orders, [
      () => placed,
      (so) => ({ kind: "command-outcome", messageId: "n-1", commandMessageId: issued(so, "step"), outcome: "rejected", reason: "over the card limit" }),
    ]);
    expect(records.map((record) => record.type)).toContain("$StepFailed");
    expect(expectSameFold(records)).toMatchObject({ status: "failed", steps: { charge: { status: "failed" } } });
  });

  it("through a cancelled deadline", async () => {
    const records = await recordsOf(orders, [() => placed, () => charged, () => eventInput(orders, "OrderShipped", { orderId: "o-1", trackingCode: "T1" })]);
    expect(records.map((record) => record.type)).toContain("$TimerCancelled");
    expect(expectSameFold(records)).toMatchObject({ status: "completed", timers: {} });
  });

  it("through a timer that starts a step", async () => {
    const reminder = reminderDefinition();
    const records = await recordsOf(reminder, [
      () => eventInput(reminder, "SignedUp", { memberId: "mem-1", email: "ada@example.org" }),
      (so) => ({ kind: "timer-fired", messageId: "t-1", timerId: deadline(so) }),
    ]);
    expect(records.map((record) => record.type)).toContain("$TimerFired");
    expectSameFold(records);
  });

  it("through the insurance quote's happy path", async () => {
    const insurance = templateDefinition("insurance-quote");
    const coverage = { product: "home", sumInsured: 300_000, deductible: 1000, startDate: "2027-01-01T00:00:00.000Z" };
    const records = await recordsOf(insurance, [
      () => eventInput(insurance, "ApplicationSubmitted", { applicationId: "app-1", applicant: { firstName: "Ada", lastName: "Lovelace", dateOfBirth: "1815-12-10", postcode: "W1" }, coverage, submittedAt: NOW.toISOString() }),
      () => eventInput(insurance, "RiskAssessed", { applicationId: "app-1", riskScore: 35, riskBand: "medium", assessedAt: NOW.toISOString() }),
    ]);
    expect(expectSameFold(records)).toMatchObject({ status: "running", stepsRun: 2, steps: { "request-risk-assessment": { status: "done" } } });
  });
});

describe("stateAfter", () => {
  function cloudEvent(position: number, stream: string, type: string, data: unknown): CloudEvent {
    return { specversion: "1.0", id: `id-${position}`, source: "/sagaboard/Sales", type, time: NOW.toISOString(), datacontenttype: "application/json", subject: stream, data, position, stream, streamversion: position };
  }
  const events = [
    cloudEvent(1, "inbound", "OrderPlaced", { orderId: "o-1" }),
    cloudEvent(2, "instance-1", "$ProcessStarted", { instanceId: "instance-1", processId: "p", correlationKey: "o-1", correlationId: "c", startedAt: NOW.toISOString() }),
    cloudEvent(3, "instance-1", "$StatusChanged", { from: "idle", to: "running", reason: "started", at: NOW.toISOString() }),
    // Another instance of the same correlation: its records do not change this one.
    cloudEvent(4, "instance-2", "$StatusChanged", { from: "running", to: "failed", reason: "other", at: NOW.toISOString() }),
    cloudEvent(5, "instance-1", "$StatusChanged", { from: "running", to: "completed", reason: "done", at: NOW.toISOString() }),
  ];

  it("folds only the instance's own records up to the position", () => {
    expect(stateAfter(events, "instance-1", 1).status).toBe("idle");
    expect(stateAfter(events, "instance-1", 3)).toMatchObject({ status: "running", correlationKey: "o-1" });
    expect(stateAfter(events, "instance-1", 4).status).toBe("running");
    expect(stateAfter(events, "instance-1", 5)).toMatchObject({ status: "completed", reason: "done" });
  });
});
