import { describe, expect, it } from "vitest";
import type { CloudEvent } from "./cloud-events.ts";
import { contextOf } from "./cloud-events.ts";
import { CARD, LANE_HEIGHT, layoutTimeline, PADDING, timeGap } from "./timeline-layout.ts";
import { lanesOf, payloadOf, timelineMessages } from "./timeline-model.ts";

const START = Date.parse("2026-11-23T08:49:05.200Z");
const INSTANCE = "board@1:board:A-1";

interface Spec {
  id: string;
  type: string;
  stream: string;
  context: string | null;
  at: number;
  causation: string;
  data?: Record<string, unknown>;
}

function cloudEvents(specs: Spec[]): CloudEvent[] {
  return specs.map((spec, index) => ({
    specversion: "1.0",
    id: spec.id,
    source: `/sagaboard/${encodeURIComponent(spec.context ?? spec.stream)}`,
    type: spec.type,
    time: new Date(START + spec.at).toISOString(),
    datacontenttype: "application/json",
    subject: spec.stream,
    data: spec.data ?? {},
    position: index + 1,
    stream: spec.stream,
    streamversion: 1,
    correlationid: "submitted",
    causationid: spec.causation,
  }));
}

const issued = (messageId: string, command: string, context: string, causationId: string, purpose = "step") => ({
  messageId,
  purpose,
  stepId: `step-${command}`,
  command: { id: command, name: command },
  context: { id: context.toLowerCase(), name: context },
  handler: { kind: "aggregate", id: command, name: command },
  payload: { applicationId: "A-1" },
  retry: { maxAttempts: 3, initialDelayMs: 10, multiplier: 2, maxDelayMs: 100 },
  causationId,
  expects: [],
  trigger: {},
});

/** The insurance quote as the runtime stores it (server/runtime: records of the instance, events of the contexts). */
const quoteRun = cloudEvents([
  { id: "submitted", type: "ApplicationSubmitted", stream: "board:inbound:submitted", context: "Underwriting", at: 0, causation: "submitted" },
  { id: "r-started", type: "$ProcessStarted", stream: INSTANCE, context: "Underwriting", at: 480, causation: "submitted", data: { instanceId: INSTANCE, processId: "quotes", correlationKey: "A-1", correlationId: "submitted", startedAt: "" } },
  { id: "r-running", type: "$StatusChanged", stream: INSTANCE, context: "Underwriting", at: 480, causation: "submitted", data: { from: "idle", to: "running", reason: "started by ApplicationSubmitted", at: "" } },
  { id: "r-received-1", type: "$MessageReceived", stream: INSTANCE, context: "Underwriting", at: 480, causation: "submitted", data: { messageId: "submitted", event: { id: "e", name: "ApplicationSubmitted" }, payload: {}, meta: { messageId: "submitted" }, at: "" } },
  { id: "r-issued-1", type: "$CommandIssued", stream: INSTANCE, context: "Underwriting", at: 480, causation: "submitted", data: issued("assess", "AssessRisk", "Risk", "submitted") },
  { id: "assessed", type: "RiskAssessed", stream: "board:RiskAssessment:A-1", context: "Risk", at: 860, causation: "assess" },
  { id: "r-received-2", type: "$MessageReceived", stream: INSTANCE, context: "Underwriting", at: 1290, causation: "assessed", data: { messageId: "assessed", event: { id: "e", name: "RiskAssessed" }, payload: {}, meta: { messageId: "assessed" }, at: "" } },
  { id: "r-settled", type: "$StepSettled", stream: INSTANCE, context: "Underwriting", at: 1290, causation: "assessed", data: { stepId: "step-AssessRisk", by: { id: "e", name: "RiskAssessed" }, messageId: "assessed" } },
  { id: "r-issued-2", type: "$CommandIssued", stream: INSTANCE, context: "Underwriting", at: 1290, causation: "assessed", data: issued("rate", "CalculateRate", "Rate", "assessed") },
  { id: "rejected", type: "$CommandRejected", stream: "board:RateCalculation:A-1:rejections", context: "Rate", at: 1500, causation: "rate", data: { command: "CalculateRate", commandMessageId: "rate", reason: "no tariff for boats" } },
  { id: "r-outcome", type: "$CommandOutcomeReceived", stream: INSTANCE, context: "Underwriting", at: 1700, causation: "rate-outcome", data: { messageId: "rate-outcome", commandMessageId: "rate", outcome: "rejected", reason: "no tariff for boats", at: "" } },
  { id: "r-failed", type: "$StatusChanged", stream: INSTANCE, context: "Underwriting", at: 1700, causation: "rate-outcome", data: { from: "running", to: "failed", reason: "CalculateRate was rejected", at: "" } },
]);

describe("timeline messages", () => {
  const messages = timelineMessages(quoteRun);
  const byId = new Map(messages.map((message) => [message.id, message]));

  it("reads the context from the CloudEvent source, and none when the source is the stream", () => {
    expect(contextOf(quoteRun[0]!)).toBe("Underwriting");
    expect(contextOf({ source: "/sagaboard/a%3Ab", stream: "a:b" })).toBeNull();
    expect(contextOf({ source: "/sagaboard/Risk%20%26%20Fraud", stream: "x" })).toBe("Risk & Fraud");
  });

  it("gives every stored event one message, with its kind", () => {
    expect(messages.map((message) => [message.id, message.kind])).toEqual([
      ["submitted", "event"],
      ["r-started", "started"],
      ["r-running", "status"],
      ["r-received-1", "received"],
      ["r-issued-1", "command"],
      ["assessed", "event"],
      ["r-received-2", "received"],
      ["r-settled", "settled"],
      ["r-issued-2", "command"],
      ["rejected", "rejection"],
      ["r-outcome", "rejection"],
      ["r-failed", "status"],
    ]);
    expect(byId.get("r-failed")).toMatchObject({ title: "failed", detail: "CalculateRate was rejected" });
    expect(byId.get("rejected")).toMatchObject({ title: "CalculateRate rejected", detail: "no tariff for boats" });
  });

  it("puts the instance's records in its own lane first, and commands in the lane of the context that handles them", () => {
    expect(lanesOf(messages).map((lane) => [lane.kind, lane.name])).toEqual([
      ["process", "quotes"],
      ["context", "Underwriting"],
      ["context", "Risk"],
      ["context", "Rate"],
    ]);
    expect(byId.get("r-issued-1")!.lane.name).toBe("Risk");
    expect(byId.get("r-issued-2")!.lane.name).toBe("Rate");
    expect(byId.get("r-running")!.lane.kind).toBe("process");
  });

  it("names a process manager's lane through the given namer", () => {
    const named = timelineMessages(quoteRun, (board, processId) => `${processId} of ${board ?? "no board"}`);
    expect(lanesOf(named)[0]!.name).toBe("quotes of no board");
  });

  it("shows a command's payload, a received event's payload, and an event's data", () => {
    expect(payloadOf(byId.get("r-issued-1")!)).toEqual({ applicationId: "A-1" });
    expect(payloadOf(byId.get("r-running")!)).toMatchObject({ to: "running" });
    expect(payloadOf(byId.get("rejected")!)).toMatchObject({ reason: "no tariff for boats" });
  });

  it("names causes: a command by the event that triggered it, an event by the command it answers, an outcome by its command", () => {
    expect(byId.get("submitted")!.causeKey).toBeNull();
    expect(byId.get("r-issued-1")).toMatchObject({ causeKey: "submitted", keys: ["r-issued-1", "assess"] });
    expect(byId.get("assessed")!.causeKey).toBe("assess");
    expect(byId.get("rejected")!.causeKey).toBe("rate");
    expect(byId.get("r-outcome")!.causeKey).toBe("rate");
  });
});

describe("timers and deadlines", () => {
  const fireAt = new Date(START + 60_500).toISOString();
  const run = cloudEvents([
    { id: "r-timer", type: "$TimerScheduled", stream: INSTANCE, context: "Sales", at: 500, causation: "placed", data: { timerId: "t-1", kind: "deadline", stepId: "ship", timer: null, fireAt, trigger: {} } },
    { id: "r-fired", type: "$TimerFired", stream: INSTANCE, context: "Sales", at: 60_600, causation: "t-1", data: { messageId: "fired-1", timerId: "t-1", at: "" } },
    { id: "r-timed-out", type: "$StepTimedOut", stream: INSTANCE, context: "Sales", at: 60_600, causation: "fired-1", data: { stepId: "ship", timerId: "t-1" } },
    { id: "r-refund", type: "$CommandIssued", stream: INSTANCE, context: "Sales", at: 60_600, causation: "fired-1", data: issued("refund", "RefundPayment", "Payments", "fired-1", "compensation") },
  ]);
  const messages = timelineMessages(run);

  it("reads when a timer fires, and what it was for", () => {
    expect(messages.map((message) => [message.kind, message.title, message.detail])).toEqual([
      ["timer-set", "Deadline set", "fires after 1 min 0 s"],
      ["timer-fired", "Timer fired", null],
      ["step-timed-out", "Step ship timed out", null],
      ["compensation", "RefundPayment", "compensates step-RefundPayment"],
    ]);
  });

  it("joins a timer to its firing, and the firing to what it caused", () => {
    const links = layoutTimeline(messages).links.map((link) => [link.from.message.id, link.to.message.id, link.kind]);
    expect(links).toEqual([
      ["r-timer", "r-fired", "follows"],
      ["r-fired", "r-timed-out", "follows"],
      ["r-fired", "r-refund", "reacted"],
    ]);
  });
});

describe("timeline layout", () => {
  const layout = layoutTimeline(timelineMessages(quoteRun));
  const item = (id: string) => layout.items.find((placed) => placed.message.id === id)!;

  it("stacks one lane per row", () => {
    expect(layout.lanes.map((lane) => lane.y)).toEqual([0, LANE_HEIGHT, 2 * LANE_HEIGHT, 3 * LANE_HEIGHT]);
    expect(layout.height).toBe(4 * LANE_HEIGHT);
    const risk = layout.lanes.find((lane) => lane.name === "Risk")!;
    expect(item("assessed").y).toBeGreaterThanOrEqual(risk.y);
    expect(item("assessed").y + item("assessed").height).toBeLessThanOrEqual(risk.y + LANE_HEIGHT);
  });

  it("never moves left along the log and never overlaps within a lane", () => {
    const xs = layout.items.map((placed) => placed.x);
    expect(xs).toEqual([...xs].sort((a, b) => a - b));
    expect(xs[0]).toBe(PADDING);
    for (const lane of layout.lanes) {
      const inLane = layout.items.filter((placed) => placed.message.lane.key === lane.key);
      for (let index = 1; index < inLane.length; index++) expect(inLane[index]!.x).toBeGreaterThanOrEqual(inLane[index - 1]!.x + inLane[index - 1]!.width);
    }
    expect(layout.width).toBeGreaterThanOrEqual(Math.max(...layout.items.map((placed) => placed.x + placed.width)));
  });

  it("spaces messages further apart the longer the wait between them", () => {
    expect(timeGap(0)).toBe(0);
    expect(timeGap(100)).toBeLessThan(timeGap(2000));
    expect(timeGap(2000)).toBeLessThan(timeGap(12_000));
    // ApplicationSubmitted waited 480 ms before the instance started; the records after it came in the same millisecond.
    expect(item("r-started").x - item("submitted").x).toBeGreaterThanOrEqual(timeGap(480));
  });

  it("draws causation arrows between cards with the time from cause to effect", () => {
    const links = layout.links.map((link) => [link.from.message.id, link.to.message.id, link.kind, link.durationMs]);
    expect(links).toEqual([
      // Started and running on the same event: one arrow into the process lane.
      ["submitted", "r-started", "follows", 480],
      ["submitted", "r-issued-1", "reacted", 480],
      ["r-issued-1", "assessed", "handled", 380],
      ["assessed", "r-issued-2", "reacted", 430],
      ["r-issued-2", "rejected", "handled", 210],
      ["r-issued-2", "r-outcome", "handled", 410],
      // The failure names the outcome's delivery as its cause.
      ["r-outcome", "r-failed", "follows", 0],
    ]);
    // The dots of bookkeeping records carry no arrows.
    expect(layout.links.some((link) => link.to.shape === "dot" || link.from.shape === "dot")).toBe(false);
    for (const link of layout.links) expect(link.path).toMatch(/^M [\d.]+ [\d.]+ C /);
  });

  it("lays out nothing for no messages", () => {
    expect(layoutTimeline([])).toEqual({ lanes: [], items: [], links: [], width: PADDING, height: 0 });
    expect(CARD.width).toBeGreaterThan(0);
  });
});
