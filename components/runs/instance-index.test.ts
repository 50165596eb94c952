import { describe, expect, it } from "vitest";
import type { CloudEvent } from "./cloud-events.ts";
import { applyLiveEvent, countByStatus, mergeServerRow, queryInstances, rowFromSummary, statusAt, type InstanceQuery, type InstanceRow, type InstanceSummaryLike } from "./instance-index.ts";

const T0 = Date.parse("2026-11-23T09:00:00.000Z");

function summary(id: string, overrides: Partial<InstanceSummaryLike> = {}): InstanceSummaryLike {
  return {
    id,
    boardId: "quotes",
    versionId: "quotes@1",
    processId: "quotes",
    correlationKey: `key-${id}`,
    correlationId: `corr-${id}`,
    storedStatus: "running",
    reason: null,
    startedAt: new Date(T0),
    updatedAt: new Date(T0),
    lastActivityAt: new Date(T0),
    stuckAfterMs: 60_000,
    ...overrides,
  };
}

function record(stream: string, type: string, atMs: number, data: Record<string, unknown> = {}, position = 1): CloudEvent {
  return {
    specversion: "1.0",
    id: `${type}-${atMs}`,
    source: "/sagaboard/Underwriting",
    type,
    time: new Date(T0 + atMs).toISOString(),
    datacontenttype: "application/json",
    subject: stream,
    data,
    position,
    stream,
    streamversion: 1,
    correlationid: `corr-${stream}`,
    definitionid: "quotes",
    definitionversion: 3,
  };
}

const query = (overrides: Partial<InstanceQuery> = {}): InstanceQuery => ({ process: null, status: null, search: "", sort: "started", direction: "desc", ...overrides });

describe("live events on the held instances", () => {
  it("adds an instance on $ProcessStarted with what the event says", () => {
    const rows = new Map<string, InstanceRow>();
    expect(applyLiveEvent(rows, record("i-1", "$ProcessStarted", 5, { instanceId: "i-1", processId: "quotes", correlationKey: "A-1", correlationId: "c-1", startedAt: new Date(T0 + 5).toISOString() }))).toBe("added");
    expect(rows.get("i-1")).toMatchObject({ boardId: "quotes", definitionVersion: 3, processId: "quotes", correlationKey: "A-1", correlationId: "c-1", storedStatus: "running", startedAt: T0 + 5, stuckAfterMs: null });
  });

  it("moves an instance on $StatusChanged and touches it on any of its records", () => {
    const rows = new Map([["i-1", rowFromSummary(summary("i-1"))]]);
    expect(applyLiveEvent(rows, record("i-1", "$CommandIssued", 100))).toBe("changed");
    expect(rows.get("i-1")).toMatchObject({ storedStatus: "running", updatedAt: T0 + 100, lastActivityAt: T0 + 100 });
    expect(applyLiveEvent(rows, record("i-1", "$StatusChanged", 200, { from: "running", to: "completed", reason: "QuoteGenerated received" }))).toBe("changed");
    expect(rows.get("i-1")).toMatchObject({ storedStatus: "completed", reason: "QuoteGenerated received", updatedAt: T0 + 200 });
  });

  it("ignores domain events, unknown instances, and records older than what it holds", () => {
    const rows = new Map([["i-1", rowFromSummary(summary("i-1", { updatedAt: new Date(T0 + 500), storedStatus: "completed" }))]]);
    expect(applyLiveEvent(rows, record("i-1", "QuoteGenerated", 900))).toBe("none");
    expect(applyLiveEvent(rows, record("i-9", "$StatusChanged", 900, { to: "failed" }))).toBe("none");
    expect(applyLiveEvent(rows, record("i-1", "$StatusChanged", 100, { to: "running" }))).toBe("none");
    expect(rows.get("i-1")!.storedStatus).toBe("completed");
  });
});

describe("server rows and live rows", () => {
  it("keeps the fresher of the two and learns the facts a live row lacked", () => {
    const rows = new Map<string, InstanceRow>();
    applyLiveEvent(rows, record("i-1", "$ProcessStarted", 0, { processId: "quotes", correlationKey: "A-1", correlationId: "c-1" }));
    applyLiveEvent(rows, record("i-1", "$StatusChanged", 300, { to: "completed", reason: "done" }));
    // A page fetched before the instance completed must not move it back.
    expect(mergeServerRow(rows, rowFromSummary(summary("i-1", { updatedAt: new Date(T0 + 100), correlationKey: "A-1", correlationId: "c-1" })))).toBe(true);
    expect(rows.get("i-1")).toMatchObject({ storedStatus: "completed", versionId: "quotes@1", stuckAfterMs: 60_000, definitionVersion: 3 });
    expect(mergeServerRow(rows, rowFromSummary(summary("i-1", { updatedAt: new Date(T0 + 400), storedStatus: "failed", correlationKey: "A-1", correlationId: "c-1" })))).toBe(true);
    expect(rows.get("i-1")!.storedStatus).toBe("failed");
    expect(mergeServerRow(rows, { ...rows.get("i-1")! })).toBe(false);
  });
});

describe("stuck", () => {
  it("is a running or compensating instance idle for its threshold, as the runtime computes it", () => {
    const running = rowFromSummary(summary("i-1"));
    expect(statusAt(running, T0 + 59_999)).toBe("running");
    expect(statusAt(running, T0 + 60_000)).toBe("stuck");
    expect(statusAt({ ...running, storedStatus: "compensating" }, T0 + 60_000)).toBe("stuck");
    expect(statusAt({ ...running, storedStatus: "completed" }, T0 + 600_000)).toBe("completed");
    expect(statusAt({ ...running, stuckAfterMs: null }, T0 + 600_000)).toBe("running");
  });
});

describe("filter, search, sort and counts", () => {
  const rows = [
    rowFromSummary(summary("a", { correlationKey: "A-100", startedAt: new Date(T0 + 1), updatedAt: new Date(T0 + 50), storedStatus: "completed" })),
    rowFromSummary(summary("b", { correlationKey: "B-200", startedAt: new Date(T0 + 2), updatedAt: new Date(T0 + 10), storedStatus: "failed" })),
    rowFromSummary(summary("c", { correlationKey: "C-300", startedAt: new Date(T0 + 3), updatedAt: new Date(T0 + 30), lastActivityAt: new Date(T0 + 30), storedStatus: "running" })),
    rowFromSummary(summary("d", { boardId: "orders", processId: "orders", correlationKey: "A-101", startedAt: new Date(T0 + 4), updatedAt: new Date(T0 + 5), storedStatus: "running", stuckAfterMs: 1_000_000 })),
  ];
  const now = T0 + 60_030;
  const ids = (found: InstanceRow[]) => found.map((row) => row.id);

  it("sorts by start, update or status, either way", () => {
    expect(ids(queryInstances(rows, query(), now))).toEqual(["d", "c", "b", "a"]);
    expect(ids(queryInstances(rows, query({ direction: "asc" }), now))).toEqual(["a", "b", "c", "d"]);
    expect(ids(queryInstances(rows, query({ sort: "updated" }), now))).toEqual(["a", "c", "b", "d"]);
    // c is stuck by now: attention first, ties newest first.
    expect(ids(queryInstances(rows, query({ sort: "status", direction: "asc" }), now))).toEqual(["c", "b", "d", "a"]);
  });

  it("filters by process and by status as of now", () => {
    expect(ids(queryInstances(rows, query({ process: "orders/orders" }), now))).toEqual(["d"]);
    expect(ids(queryInstances(rows, query({ status: "stuck" }), now))).toEqual(["c"]);
    expect(ids(queryInstances(rows, query({ status: "running" }), now))).toEqual(["d"]);
  });

  it("searches correlation keys and ids, case-insensitively", () => {
    expect(ids(queryInstances(rows, query({ search: " a-10 " }), now))).toEqual(["d", "a"]);
    expect(ids(queryInstances(rows, query({ search: "CORR-B" }), now))).toEqual(["b"]);
    expect(ids(queryInstances(rows, query({ search: "nothing like it" }), now))).toEqual([]);
  });

  it("counts every status of the chosen process", () => {
    expect(countByStatus(rows, null, now)).toEqual({ running: 1, stuck: 1, compensating: 0, failed: 1, compensated: 0, completed: 1 });
    expect(countByStatus(rows, "quotes/quotes", now)).toEqual({ running: 0, stuck: 1, compensating: 0, failed: 1, compensated: 0, completed: 1 });
  });

  it("keeps 10,000 instances quick to query", () => {
    const many = Array.from({ length: 10_000 }, (_, index) => rowFromSummary(summary(`i-${index}`, { startedAt: new Date(T0 + index), correlationKey: `K-${index}` })));
    const started = performance.now();
    expect(queryInstances(many, query({ search: "K-99" }), now)).toHaveLength(111);
    expect(queryInstances(many, query({ sort: "status" }), now)).toHaveLength(10_000);
    expect(performance.now() - started).toBeLessThan(500);
  });
});
