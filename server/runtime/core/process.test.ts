import { describe, expect, it } from "vitest";
import type { ProcessDefinitionV1 } from "../../definition/v1.ts";
import { orderSagaDefinition, reminderDefinition, templateDefinition } from "../testing/boards.ts";
import { indexDefinition } from "./definition-index.ts";
import { processSpecification } from "./spec.ts";
import type { ProcessInput } from "./process.ts";

const NOW = new Date("2026-11-23T10:00:00.000Z");
const later = (ms: number) => new Date(NOW.getTime() + ms);

function specFor(definition: ProcessDefinitionV1, correlationKey: string) {
  const process = definition.processManagers[0]!;
  return processSpecification({ process, index: indexDefinition(definition), instanceId: `i-${correlationKey}`, correlationKey }, NOW);
}

function eventInput(definition: ProcessDefinitionV1, name: string, payload: Record<string, unknown>, messageId = `m-${name}`): ProcessInput {
  const event = definition.events.find((candidate) => candidate.name === name)!;
  return {
    kind: "event",
    messageId,
    event: { id: event.id, name: event.name },
    payload,
    meta: { messageId, messageName: name, correlationId: "corr-1", causationId: "corr-1", occurredAt: NOW.toISOString(), version: 1 },
  };
}

describe("Application Premium Process (insurance-quote template)", () => {
  const insurance = templateDefinition("insurance-quote");
  const spec = specFor(insurance, "app-1");
  const coverage = { product: "home", sumInsured: 300_000, deductible: 1000, startDate: "2027-01-01T00:00:00.000Z" };
  const submitted = eventInput(insurance, "ApplicationSubmitted", {
    applicationId: "app-1",
    applicant: { firstName: "Ada", lastName: "Lovelace", dateOfBirth: "1815-12-10", postcode: "W1" },
    coverage,
    submittedAt: NOW.toISOString(),
  });
  const assessed = eventInput(insurance, "RiskAssessed", { applicationId: "app-1", riskScore: 35, riskBand: "medium", assessedAt: NOW.toISOString() });
  const rated = eventInput(insurance, "RateCalculated", {
    applicationId: "app-1",
    currency: "EUR",
    premiumRates: [{ coverage: "home", annualRate: 607.5 }],
    calculatedAt: NOW.toISOString(),
  });

  it("starts on ApplicationSubmitted and translates it into AssessRisk for Risk", () =>
    spec()
      .when(submitted)
      .thenCheck((decision) => {
        expect(decision.status).toEqual({ from: "idle", to: "running", reason: "started by ApplicationSubmitted" });
        expect(decision.commands).toHaveLength(1);
        expect(decision.commands[0]).toMatchObject({
          purpose: "step",
          command: { name: "AssessRisk" },
          context: { name: "Risk" },
          handler: { kind: "aggregate", name: "RiskAssessment" },
          payload: { applicationId: "app-1", coverage },
          causationId: "m-ApplicationSubmitted",
        });
        expect(decision.records.map((record) => record.type)).toEqual(["$ProcessStarted", "$StatusChanged", "$MessageReceived", "$CommandIssued"]);
      }));

  it("maps later steps from earlier events through process.events", () =>
    spec(submitted)
      .when(assessed)
      .thenCheck((decision) => {
        expect(decision.status).toBeNull();
        expect(decision.commands).toEqual([
          expect.objectContaining({ command: { id: "calculate-rate", name: "CalculateRate" }, payload: { applicationId: "app-1", riskScore: 35, riskBand: "medium", coverage } }),
        ]);
        expect(decision.records.map((record) => record.type)).toEqual(["$MessageReceived", "$StepSettled", "$CommandIssued"]);
      }));

  it("completes on QuoteGenerated", () =>
    spec(submitted, assessed, rated)
      .when(eventInput(insurance, "QuoteGenerated", { quoteId: "app-1-Q", applicationId: "app-1", currency: "EUR", lines: [], totalAnnualPremium: 607.5, validUntil: NOW.toISOString() }))
      .thenCheck((decision) => {
        expect(decision.status).toEqual({ from: "running", to: "completed", reason: "QuoteGenerated received" });
        expect(decision.commands).toEqual([]);
      }));

  it("fails on RiskDeclined, with nothing to compensate", () =>
    spec(submitted)
      .when(eventInput(insurance, "RiskDeclined", { applicationId: "app-1", reason: "too big", declinedAt: NOW.toISOString() }))
      .thenMatches({ status: { from: "running", to: "failed", reason: "RiskDeclined received" }, commands: [] }));

  it("ignores events for an instance that never started", () => spec().when(assessed).then({ records: [], commands: [], timersToSet: [], timersToCancel: [], status: null }));

  it("derives the same command ids when the same input is decided again", async () => {
    let first = "";
    await spec().when(submitted).thenCheck((decision) => (first = decision.commands[0]!.messageId));
    await spec().when(submitted).thenCheck((decision) => expect(decision.commands[0]!.messageId).toBe(first));
    await spec().when({ ...submitted, messageId: "other" }).thenCheck((decision) => expect(decision.commands[0]!.messageId).not.toBe(first));
  });

  it("notes a second start event for the same key without running its steps again", () =>
    spec(submitted)
      .when({ ...submitted, messageId: "again" })
      .thenCheck((decision) => {
        expect(decision.records.map((record) => record.type)).toEqual(["$MessageReceived"]);
        expect(decision.commands).toEqual([]);
      }));

  it("records late events after completion without acting on them", () =>
    spec(submitted, assessed, rated, eventInput(insurance, "QuoteGenerated", { quoteId: "q", applicationId: "app-1", currency: "EUR", lines: [], totalAnnualPremium: 1, validUntil: NOW.toISOString() }))
      .when({ ...assessed, messageId: "late" })
      .thenCheck((decision, state) => {
        expect(state.status).toBe("completed");
        expect(decision.records.map((record) => record.type)).toEqual(["$MessageReceived"]);
        expect(decision.commands).toEqual([]);
      }));
});

describe("Order saga: deadlines, rejections and compensation", () => {
  const orders = orderSagaDefinition({ carrierUrl: "http://127.0.0.1:9/carrier", shippingDeadlineMs: 60_000 });
  const spec = specFor(orders, "o-1");
  const placed = eventInput(orders, "OrderPlaced", { orderId: "o-1", amount: 120, customer: "ada" });
  const charged = eventInput(orders, "PaymentCharged", { orderId: "o-1", amount: 120 });

  it("sets a deadline when it sends ShipOrder to the carrier", () =>
    spec(placed)
      .when(charged)
      .thenCheck((decision) => {
        expect(decision.commands).toEqual([expect.objectContaining({ command: { id: "ship-order", name: "ShipOrder" }, handler: { kind: "externalSystem", id: "carrier", name: "Carrier" }, payload: { orderId: "o-1", amount: 120 } })]);
        expect(decision.timersToSet).toEqual([expect.objectContaining({ kind: "deadline", stepId: "ship", fireAt: later(60_000).toISOString() })]);
      }));

  it("cancels the deadline when the carrier answers in time, and completes", async () => {
    let deadline = "";
    await spec(placed).when(charged).thenCheck((decision) => (deadline = decision.timersToSet[0]!.timerId));
    await spec(placed, charged)
      .when(eventInput(orders, "OrderShipped", { orderId: "o-1", trackingCode: "T1" }))
      .thenMatches({ timersToCancel: [deadline], status: { to: "completed" } });
  });

  it("compensates the charge when the deadline passes: RefundPayment, status compensating", async () => {
    let deadline = "";
    await spec(placed).when(charged).thenCheck((decision) => (deadline = decision.timersToSet[0]!.timerId));
    await spec(placed, charged)
      .when({ input: { kind: "timer-fired", messageId: "t-1", timerId: deadline }, at: later(60_001) })
      .thenCheck((decision) => {
        expect(decision.status).toEqual({ from: "running", to: "compensating", reason: "the deadline of Ship the order passed" });
        expect(decision.commands).toEqual([expect.objectContaining({ purpose: "compensation", command: { id: "refund-payment", name: "RefundPayment" }, payload: { orderId: "o-1", amount: 120 } })]);
        expect(decision.records.map((record) => record.type)).toContain("$StepTimedOut");
      });
  });

  it("is compensated once every compensation was handled", async () => {
    let deadline = "";
    let refund = "";
    await spec(placed).when(charged).thenCheck((decision) => (deadline = decision.timersToSet[0]!.timerId));
    const fired: ProcessInput = { kind: "timer-fired", messageId: "t-1", timerId: deadline };
    await spec(placed, charged).when(fired).thenCheck((decision) => (refund = decision.commands[0]!.messageId));
    await spec(placed, charged, fired)
      .when({ kind: "command-outcome", messageId: "ack-1", commandMessageId: refund, outcome: "handled", reason: null })
      .thenMatches({ status: { from: "compensating", to: "compensated" } });
  });

  it("ignores a deadline that fires after the step settled", async () => {
    let deadline = "";
    await spec(placed).when(charged).thenCheck((decision) => (deadline = decision.timersToSet[0]!.timerId));
    await spec(placed, charged, eventInput(orders, "OrderShipped", { orderId: "o-1", trackingCode: "T1" }))
      .when({ kind: "timer-fired", messageId: "t-1", timerId: deadline })
      .then({ records: [], commands: [], timersToSet: [], timersToCancel: [], status: null });
  });

  it("fails when the charge is rejected: the failed step itself is not compensated", async () => {
    let charge = "";
    await spec().when(placed).thenCheck((decision) => (charge = decision.commands[0]!.messageId));
    await spec(placed)
      .when({ kind: "command-outcome", messageId: "n-1", commandMessageId: charge, outcome: "rejected", reason: "The amount is over the card limit." })
      .thenCheck((decision) => {
        expect(decision.commands).toEqual([]);
        expect(decision.status).toEqual({ from: "running", to: "failed", reason: expect.stringContaining("over the card limit") });
        expect(decision.records.map((record) => record.type)).toEqual(["$CommandOutcomeReceived", "$StepFailed", "$StatusChanged"]);
      });
  });

  it("sends the deadline's onTimeout command instead of compensating when the step has one", async () => {
    const withTimeout = structuredClone(orders);
    const ship = withTimeout.processManagers[0]!.steps.find((step) => step.id === "ship")!;
    ship.deadline = { afterMs: 1000, onTimeout: { ...structuredClone(orders.processManagers[0]!.steps[0]!.compensation!) } };
    const timeoutSpec = specFor(withTimeout, "o-1");
    let deadline = "";
    await timeoutSpec(placed).when(charged).thenCheck((decision) => (deadline = decision.timersToSet[0]!.timerId));
    await timeoutSpec(placed, charged)
      .when({ kind: "timer-fired", messageId: "t-1", timerId: deadline })
      .thenCheck((decision) => {
        expect(decision.status).toBeNull();
        expect(decision.commands).toEqual([expect.objectContaining({ purpose: "timeout", command: { id: "refund-payment", name: "RefundPayment" } })]);
      });
  });
});

describe("Timers that trigger steps", () => {
  const reminder = reminderDefinition();
  const spec = specFor(reminder, "mem-1");
  const signedUp = eventInput(reminder, "SignedUp", { memberId: "mem-1", email: "ada@example.org" });

  it("schedules the timer its start event sets, and runs the step with that event when it fires", async () => {
    let timerId = "";
    await spec()
      .when(signedUp)
      .thenCheck((decision) => {
        expect(decision.commands).toEqual([]);
        expect(decision.timersToSet).toEqual([expect.objectContaining({ kind: "timer", timer: { id: "welcome-delay", name: "Welcome delay" }, fireAt: later(30_000).toISOString() })]);
        timerId = decision.timersToSet[0]!.timerId;
      });
    await spec(signedUp)
      .when({ input: { kind: "timer-fired", messageId: "t-1", timerId }, at: later(30_000) })
      .thenMatches({ commands: [{ command: { name: "SendWelcome" }, payload: { memberId: "mem-1", email: "ada@example.org" } }] });
  });
});
