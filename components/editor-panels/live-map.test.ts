import { describe, expect, it } from "vitest";
import { commandIdsOf, contextState, countersReducer, edgesOnPath, hitOf, liveIndexOf, outboxByNode, settingsFor, type ContextState } from "./live-map.ts";

const schema = { type: "object" as const, properties: {}, required: [] };
const document = {
  nodes: [
    { id: "ev-submitted", type: "event" as const, position: { x: 0, y: 0 }, data: { name: "ApplicationSubmitted", description: "", schema, visibility: "public" as const, lifecycle: "start" as const } },
    { id: "cmd-assess", type: "command" as const, position: { x: 0, y: 0 }, data: { name: "AssessRisk", description: "", schema } },
  ],
} as unknown as Parameters<typeof liveIndexOf>[0];

describe("live canvas mapping", () => {
  const index = liveIndexOf(document);

  it("maps domain events by name and runtime records by element id", () => {
    expect(hitOf({ type: "ApplicationSubmitted", data: {} }, index)).toEqual({ kind: "flow", nodeIds: ["ev-submitted"], counted: "ev-submitted" });
    expect(hitOf({ type: "SomethingElse", data: {} }, index)).toBeNull();
    expect(hitOf({ type: "$CommandIssued", data: { stepId: "policy-1", command: { id: "cmd-assess", name: "AssessRisk" }, handler: { id: "agg-risk" } } }, index)).toEqual({
      kind: "flow",
      nodeIds: ["policy-1", "cmd-assess", "agg-risk"],
      counted: "cmd-assess",
    });
    expect(hitOf({ type: "$StepFailed", data: { stepId: "policy-1" } }, index)).toEqual({ kind: "failure", nodeId: "policy-1" });
    expect(hitOf({ type: "$StatusChanged", data: { to: "completed" } }, index)).toEqual({ kind: "status", instanceId: null, to: "completed" });
    expect(hitOf({ type: "$TimerScheduled", data: {} }, index)).toBeNull();
  });

  it("counts handled, failed and parked per node", () => {
    let counters = countersReducer({}, { kind: "hit", hit: { kind: "flow", nodeIds: ["a", "b"], counted: "b" } });
    counters = countersReducer(counters, { kind: "hit", hit: { kind: "flow", nodeIds: ["b"], counted: "b" } });
    counters = countersReducer(counters, { kind: "hit", hit: { kind: "failure", nodeId: "p" } });
    counters = countersReducer(counters, { kind: "outbox", parked: { b: 2 }, stuck: { q: 1 } });
    expect(counters).toEqual({ b: { handled: 2, failed: 0, parked: 2, stuck: 0 }, p: { handled: 0, failed: 1, parked: 0, stuck: 0 }, q: { handled: 0, failed: 0, parked: 0, stuck: 1 } });
    counters = countersReducer(counters, { kind: "outbox", parked: {}, stuck: {} });
    expect(counters.b).toEqual({ handled: 2, failed: 0, parked: 0, stuck: 0 });
    expect(counters.q).toEqual({ handled: 0, failed: 0, parked: 0, stuck: 0 });
    expect(countersReducer(counters, { kind: "reset" })).toEqual({});
  });

  it("counts outbox messages on their target and on the command", () => {
    expect(outboxByNode([{ targetId: "agg-risk", type: "AssessRisk" }, { targetId: "agg-risk", type: "Unknown" }], commandIdsOf(document))).toEqual({ "agg-risk": 2, "cmd-assess": 1 });
  });

  it("animates the edges from recently hit nodes into the nodes just hit", () => {
    const edges = [
      { id: "e1", source: "a", target: "b" },
      { id: "e2", source: "b", target: "c" },
      { id: "e3", source: "x", target: "c" },
    ];
    expect(edgesOnPath(edges, ["c"], new Map([["b", 1000]]), 2000, 2500)).toEqual(["e2"]);
    expect(edgesOnPath(edges, ["c"], new Map([["b", 1000]]), 5000, 2500)).toEqual([]);
    expect(edgesOnPath(edges, ["a", "b"], new Map(), 0, 2500)).toEqual(["e1"]);
  });

  it("reads and writes context fault states", () => {
    for (const state of ["up", "down", "slow", "failing"] satisfies ContextState[]) expect(contextState(settingsFor(state))).toBe(state);
    expect(contextState({ down: true, latencyMs: 500, failureRate: 0.2 })).toBe("down");
  });
});
