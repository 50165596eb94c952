/**
 * The instance list as the browser holds it: every instance loaded from runtime.instances, kept
 * current by the live log ($ProcessStarted adds an instance, any record of its stream touches it,
 * $StatusChanged moves it). Server rows and live events are merged by time, so a page fetched
 * before an event was applied can never move an instance back.
 */
import type { InstanceStatus, ProcessStatus } from "@/server/runtime/core/process.ts";
import { isProcessRecordType, objectOf, stringOf, timeOf, type CloudEvent } from "./cloud-events.ts";

export type { InstanceStatus };

export const INSTANCE_STATUSES = ["running", "stuck", "compensating", "failed", "compensated", "completed"] as const satisfies readonly InstanceStatus[];

export interface InstanceRow {
  id: string;
  boardId: string;
  /** Null until a server row arrives for an instance first seen live. */
  versionId: string | null;
  definitionVersion: number | null;
  processId: string;
  correlationKey: string;
  correlationId: string;
  storedStatus: ProcessStatus;
  reason: string | null;
  startedAt: number;
  updatedAt: number;
  lastActivityAt: number;
  /** Null until a server row arrives for an instance first seen live. */
  stuckAfterMs: number | null;
}

/** The fields of runtime.instances' summaries this list uses. */
export interface InstanceSummaryLike {
  id: string;
  boardId: string;
  versionId: string;
  processId: string;
  correlationKey: string;
  correlationId: string;
  storedStatus: ProcessStatus;
  reason: string | null;
  startedAt: Date;
  updatedAt: Date;
  lastActivityAt: Date;
  stuckAfterMs: number | null;
}

export function rowFromSummary(summary: InstanceSummaryLike, definitionVersion: number | null = null): InstanceRow {
  return {
    id: summary.id,
    boardId: summary.boardId,
    versionId: summary.versionId,
    definitionVersion,
    processId: summary.processId,
    correlationKey: summary.correlationKey,
    correlationId: summary.correlationId,
    storedStatus: summary.storedStatus,
    reason: summary.reason,
    startedAt: summary.startedAt.getTime(),
    updatedAt: summary.updatedAt.getTime(),
    lastActivityAt: summary.lastActivityAt.getTime(),
    stuckAfterMs: summary.stuckAfterMs,
  };
}

/** The runtime's rule (server/runtime/instances.ts): waiting and idle for stuckAfterMs or longer. */
export function statusAt(row: InstanceRow, now: number): InstanceStatus {
  const waiting = row.storedStatus === "running" || row.storedStatus === "compensating";
  if (waiting && row.stuckAfterMs !== null && now - row.lastActivityAt >= row.stuckAfterMs) return "stuck";
  return row.storedStatus;
}

/** Keeps the fresher of the held row and a server row (by updatedAt); returns whether anything changed. */
export function mergeServerRow(rows: Map<string, InstanceRow>, incoming: InstanceRow): boolean {
  const held = rows.get(incoming.id);
  if (!held) {
    rows.set(incoming.id, incoming);
    return true;
  }
  // Facts that never change, learned from the server for an instance first seen live.
  const versionId = held.versionId ?? incoming.versionId;
  const stuckAfterMs = held.stuckAfterMs ?? incoming.stuckAfterMs;
  const definitionVersion = held.definitionVersion ?? incoming.definitionVersion;
  const next = incoming.updatedAt >= held.updatedAt ? { ...incoming, versionId, stuckAfterMs, definitionVersion } : { ...held, versionId, stuckAfterMs, definitionVersion };
  if (sameRow(held, next)) return false;
  rows.set(next.id, next);
  return true;
}

function sameRow(a: InstanceRow, b: InstanceRow): boolean {
  return (Object.keys(a) as (keyof InstanceRow)[]).every((key) => a[key] === b[key]);
}

export type LiveEffect = "added" | "changed" | "none";

/** Applies one live event of the global log to the held rows. */
export function applyLiveEvent(rows: Map<string, InstanceRow>, event: CloudEvent): LiveEffect {
  if (!isProcessRecordType(event.type)) return "none";
  const time = timeOf(event);
  const held = rows.get(event.stream);
  if (event.type === "$ProcessStarted" && !held) {
    const data = objectOf(event.data);
    rows.set(event.stream, {
      id: event.stream,
      boardId: event.definitionid ?? "",
      versionId: null,
      definitionVersion: event.definitionversion ?? null,
      processId: stringOf(data.processId) ?? "",
      correlationKey: stringOf(data.correlationKey) ?? "",
      correlationId: stringOf(data.correlationId) ?? event.correlationid ?? "",
      storedStatus: "running",
      reason: null,
      startedAt: Date.parse(stringOf(data.startedAt) ?? event.time),
      updatedAt: time,
      lastActivityAt: time,
      stuckAfterMs: null,
    });
    return "added";
  }
  if (!held || time < held.updatedAt) return "none";
  let next: InstanceRow = { ...held, updatedAt: time, lastActivityAt: Math.max(held.lastActivityAt, time) };
  if (event.type === "$StatusChanged") {
    const data = objectOf(event.data);
    const to = stringOf(data.to);
    if (to === "running" || to === "completed" || to === "failed" || to === "compensating" || to === "compensated") next = { ...next, storedStatus: to, reason: stringOf(data.reason) };
  }
  if (sameRow(held, next)) return "none";
  rows.set(next.id, next);
  return "changed";
}

export type SortField = "started" | "updated" | "status";
export type SortDirection = "asc" | "desc";

/** Status order for sorting: what needs attention first. */
const STATUS_RANK: Record<InstanceStatus, number> = { stuck: 0, failed: 1, compensating: 2, running: 3, compensated: 4, completed: 5 };

export interface InstanceQuery {
  /** `${boardId}/${processId}`, or null for every process. */
  process: string | null;
  status: InstanceStatus | null;
  search: string;
  sort: SortField;
  direction: SortDirection;
}

export function processKey(row: Pick<InstanceRow, "boardId" | "processId">): string {
  return `${row.boardId}/${row.processId}`;
}

/** Case-insensitive substring of the correlation id, the correlation key (the business key taken from the start payload) or the instance id. */
export function matchesSearch(row: InstanceRow, search: string): boolean {
  const needle = search.trim().toLowerCase();
  if (needle === "") return true;
  return row.correlationKey.toLowerCase().includes(needle) || row.correlationId.toLowerCase().includes(needle) || row.id.toLowerCase().includes(needle);
}

export function queryInstances(rows: Iterable<InstanceRow>, query: InstanceQuery, now: number): InstanceRow[] {
  const matching: InstanceRow[] = [];
  for (const row of rows) {
    if (query.process !== null && processKey(row) !== query.process) continue;
    if (query.status !== null && statusAt(row, now) !== query.status) continue;
    if (!matchesSearch(row, query.search)) continue;
    matching.push(row);
  }
  const sign = query.direction === "asc" ? 1 : -1;
  const byField = (a: InstanceRow, b: InstanceRow): number => {
    switch (query.sort) {
      case "started":
        return a.startedAt - b.startedAt;
      case "updated":
        return a.updatedAt - b.updatedAt;
      case "status":
        return STATUS_RANK[statusAt(a, now)] - STATUS_RANK[statusAt(b, now)];
      default: {
        const unknownSort: never = query.sort;
        throw new Error(`unknown sort ${String(unknownSort)}`);
      }
    }
  };
  // Ties (same status, same millisecond) fall back to newest first, then id, so the order is stable.
  return matching.sort((a, b) => sign * byField(a, b) || b.startedAt - a.startedAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** Counts per status of the rows in `process` (all statuses, before the status filter and search). */
export function countByStatus(rows: Iterable<InstanceRow>, process: string | null, now: number): Record<InstanceStatus, number> {
  const counts: Record<InstanceStatus, number> = { running: 0, stuck: 0, compensating: 0, failed: 0, compensated: 0, completed: 0 };
  for (const row of rows) {
    if (process !== null && processKey(row) !== process) continue;
    counts[statusAt(row, now)] += 1;
  }
  return counts;
}
