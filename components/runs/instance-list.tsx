"use client";

import "./runs.css";

import { useVirtualizer } from "@tanstack/react-virtual";
import Link from "next/link";
import { useRouter } from "next/navigation";
import { memo, useCallback, useDeferredValue, useEffect, useMemo, useReducer, useRef, useState, type ReactNode } from "react";
import { useTRPCClient } from "@/components/trpc/client.tsx";
import type { CloudEvent } from "./cloud-events.ts";
import { formatCount, formatDateTime, formatDuration, formatRelative, shortId } from "./format.ts";
import {
  applyLiveEvent,
  countByStatus,
  INSTANCE_STATUSES,
  mergeServerRow,
  processKey,
  queryInstances,
  rowFromSummary,
  statusAt,
  type InstanceRow,
  type InstanceStatus,
  type SortDirection,
  type SortField,
} from "./instance-index.ts";
import { fetchLogHead, useLiveEvents } from "./live.ts";
import { useProcessNames } from "./process-names.ts";
import { EmptyState, RunsHeader, StatusBadge } from "./runs-ui.tsx";

const PAGE_SIZE = 200;
const ROW_HEIGHT = 48;
/** Instances first seen live lack a few facts (version id, stuck threshold); the newest page brings them. */
const RECONCILE_DELAY_MS = 700;

type LoadState = { kind: "loading"; loaded: number } | { kind: "loaded"; loaded: number } | { kind: "failed"; loaded: number; message: string };

export function instanceHref(instanceId: string): string {
  return `/runs/${encodeURIComponent(instanceId)}`;
}

/** Every instance, paged in from runtime.instances and kept current by the live log. */
function useInstanceIndex() {
  const client = useTRPCClient();
  const rows = useRef(new Map<string, InstanceRow>());
  const [revision, bump] = useReducer((value: number) => value + 1, 0);
  const [load, setLoad] = useState<LoadState>({ kind: "loading", loaded: 0 });
  const [head, setHead] = useState<string | null>(null);
  const [attempt, retry] = useReducer((value: number) => value + 1, 0);
  const reconcileTimer = useRef<ReturnType<typeof setTimeout> | null>(null);

  useEffect(() => {
    const abort = new AbortController();
    setLoad({ kind: "loading", loaded: rows.current.size });
    void (async () => {
      try {
        setHead(await fetchLogHead(abort.signal));
        let cursor: string | undefined;
        do {
          const page = await client.runtime.instances.query({ limit: PAGE_SIZE, cursor }, { signal: abort.signal });
          for (const summary of page.instances) mergeServerRow(rows.current, rowFromSummary(summary));
          cursor = page.nextCursor ?? undefined;
          setLoad({ kind: cursor ? "loading" : "loaded", loaded: rows.current.size });
          bump();
        } while (cursor);
      } catch (error) {
        if (abort.signal.aborted) return;
        setLoad({ kind: "failed", loaded: rows.current.size, message: (error as Error).message });
      }
    })();
    return () => abort.abort();
  }, [client, attempt]);

  const reconcile = useCallback(() => {
    if (reconcileTimer.current !== null) return;
    reconcileTimer.current = setTimeout(async () => {
      reconcileTimer.current = null;
      try {
        const page = await client.runtime.instances.query({ limit: PAGE_SIZE });
        let changed = false;
        for (const summary of page.instances) changed = mergeServerRow(rows.current, rowFromSummary(summary)) || changed;
        if (changed) bump();
      } catch {
        // The next live event schedules another attempt; the row shows what the live log said.
      }
    }, RECONCILE_DELAY_MS);
  }, [client]);
  useEffect(() => () => clearTimeout(reconcileTimer.current ?? undefined), []);

  const live = useLiveEvents("all", head, (events: CloudEvent[]) => {
    let changed = false;
    let added = false;
    for (const event of events) {
      const effect = applyLiveEvent(rows.current, event);
      if (effect !== "none") changed = true;
      if (effect === "added") added = true;
    }
    if (added) reconcile();
    if (changed) bump();
  });

  return { rows: rows.current, revision, load, live, retry };
}

function useNow(intervalMs: number): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), intervalMs);
    return () => clearInterval(timer);
  }, [intervalMs]);
  return now;
}

const SORT_LABELS: Record<SortField, string> = { started: "Started", updated: "Last update", status: "Status" };

export function InstanceList() {
  const { rows, revision, load, live, retry } = useInstanceIndex();
  // Stuck is a matter of time passing: re-evaluated every few seconds without any event.
  const now = useNow(5_000);
  const [process, setProcess] = useState<string | null>(null);
  const [status, setStatus] = useState<InstanceStatus | null>(null);
  const [search, setSearch] = useState("");
  const deferredSearch = useDeferredValue(search);
  const [sort, setSort] = useState<SortField>("started");
  const [direction, setDirection] = useState<SortDirection>("desc");

  const allRows = useMemo(() => [...rows.values()], [rows, revision]);
  const boardIds = useMemo(() => [...new Set(allRows.map((row) => row.boardId))].sort(), [allRows]);
  const names = useProcessNames(boardIds);
  const processes = useMemo(() => {
    const counts = new Map<string, { boardId: string; processId: string; count: number }>();
    for (const row of allRows) {
      const key = processKey(row);
      const entry = counts.get(key) ?? { boardId: row.boardId, processId: row.processId, count: 0 };
      entry.count += 1;
      counts.set(key, entry);
    }
    return [...counts.entries()];
  }, [allRows]);
  const counts = useMemo(() => countByStatus(allRows, process, now), [allRows, process, now]);
  const total = useMemo(() => Object.values(counts).reduce((sum, count) => sum + count, 0), [counts]);
  const visible = useMemo(
    () => queryInstances(allRows, { process, status, search: deferredSearch, sort, direction }, now),
    [allRows, process, status, deferredSearch, sort, direction, now],
  );

  // Stable across renders unless the names change, so rows that stay on screen while scrolling are not rendered again.
  const labels = useMemo(() => new Map(processes.map(([key, entry]) => [key, names.processLabel(entry.boardId, entry.processId)])), [processes, names]);
  const processLabel = useCallback((row: InstanceRow) => labels.get(processKey(row)) ?? row.processId, [labels]);
  const versionOf = useCallback((row: InstanceRow) => row.definitionVersion ?? names.versionNumber(row.versionId), [names]);
  const filtered = process !== null || status !== null || deferredSearch.trim() !== "";
  const stillLoading = load.kind === "loading";

  return (
    <div className="runs-page" data-testid="runs-page">
      <RunsHeader active="instances" live={live}>
        <p className="muted runs-subtitle">Every instance of every deployed process, updated as it runs.</p>
      </RunsHeader>

      <div className="runs-counts" role="group" aria-label="Filter by status">
        <button type="button" className="runs-count" aria-pressed={status === null} onClick={() => setStatus(null)} data-testid="count-all">
          <span className="runs-count-value">{formatCount(total)}</span>
          <span className="runs-count-label">All</span>
        </button>
        {INSTANCE_STATUSES.map((candidate) => (
          <button
            key={candidate}
            type="button"
            className={`runs-count runs-count-${candidate}`}
            aria-pressed={status === candidate}
            onClick={() => setStatus(status === candidate ? null : candidate)}
            data-testid={`count-${candidate}`}
          >
            <span className="runs-count-value">{formatCount(counts[candidate])}</span>
            <span className="runs-count-label">{candidate}</span>
          </button>
        ))}
      </div>

      <div className="runs-toolbar">
        <label className="runs-field">
          <span>Process</span>
          <select className="input" value={process ?? ""} onChange={(event) => setProcess(event.target.value || null)} data-testid="filter-process">
            <option value="">All processes</option>
            {processes.map(([key, entry]) => (
              <option key={key} value={key}>
                {names.processLabel(entry.boardId, entry.processId)} ({formatCount(entry.count)})
              </option>
            ))}
          </select>
        </label>
        <label className="runs-field runs-field-grow">
          <span>Search</span>
          <input
            className="input"
            type="search"
            placeholder="Correlation key (e.g. an application id), correlation id or instance id"
            value={search}
            onChange={(event) => setSearch(event.target.value)}
            data-testid="instance-search"
          />
        </label>
        <label className="runs-field">
          <span>Sort by</span>
          <select className="input" value={sort} onChange={(event) => setSort(event.target.value as SortField)} data-testid="instance-sort">
            {(Object.keys(SORT_LABELS) as SortField[]).map((field) => (
              <option key={field} value={field}>
                {SORT_LABELS[field]}
              </option>
            ))}
          </select>
        </label>
        <button
          type="button"
          className="button runs-direction"
          onClick={() => setDirection(direction === "asc" ? "desc" : "asc")}
          aria-label={direction === "asc" ? "Ascending; switch to descending" : "Descending; switch to ascending"}
          data-testid="instance-direction"
        >
          {direction === "asc" ? "↑ Ascending" : "↓ Descending"}
        </button>
      </div>

      <div className="runs-list-meta muted" aria-live="polite">
        {load.kind === "failed" ? (
          <span className="error-text" role="alert">
            Could not load every instance ({load.message}).{" "}
            <button type="button" className="runs-link-button" onClick={retry}>
              Try again
            </button>
          </span>
        ) : stillLoading ? (
          <span data-testid="instances-loading">Loading instances… {formatCount(load.loaded)} so far</span>
        ) : (
          <span data-testid="instances-shown">
            {formatCount(visible.length)} of {formatCount(allRows.length)} instances
          </span>
        )}
      </div>

      {!stillLoading && allRows.length === 0 && load.kind === "loaded" ? (
        <EmptyState title="Nothing has run yet" testId="runs-empty">
          <p className="muted">
            Deploy a process from its editor and press <strong>Run</strong>. Every instance shows up here the moment it starts, and its timeline fills in as
            messages flow.
          </p>
          <Link className="button primary" href="/processes">
            Open your processes
          </Link>
        </EmptyState>
      ) : (
        <div className="runs-table" role="table" aria-label="Process instances" aria-rowcount={visible.length + 1}>
          <div className="runs-row runs-row-head" role="row" aria-rowindex={1}>
            <span role="columnheader">Status</span>
            <span role="columnheader">Correlation key</span>
            <span role="columnheader">Process</span>
            <span role="columnheader">Correlation id</span>
            <span role="columnheader" aria-sort={sort === "started" ? (direction === "asc" ? "ascending" : "descending") : undefined}>
              Started
            </span>
            <span role="columnheader" aria-sort={sort === "updated" ? (direction === "asc" ? "ascending" : "descending") : undefined}>
              Last update
            </span>
            <span role="columnheader">Duration</span>
          </div>
          <InstanceRows
            rows={visible}
            now={now}
            processLabel={processLabel}
            versionOf={versionOf}
            empty={
              visible.length === 0 && !stillLoading ? (
                <div className="runs-table-empty" data-testid="instances-no-match">
                  No instance matches {filtered ? "these filters" : "yet"}.{" "}
                  {filtered ? (
                    <button
                      type="button"
                      className="runs-link-button"
                      onClick={() => {
                        setProcess(null);
                        setStatus(null);
                        setSearch("");
                      }}
                    >
                      Clear filters
                    </button>
                  ) : null}
                </div>
              ) : null
            }
          />
        </div>
      )}
    </div>
  );
}

const InstanceRows = memo(function InstanceRows({
  rows,
  now,
  processLabel,
  versionOf,
  empty,
}: {
  rows: InstanceRow[];
  now: number;
  processLabel: (row: InstanceRow) => string;
  versionOf: (row: InstanceRow) => number | null;
  empty: ReactNode;
}) {
  const router = useRouter();
  const scroller = useRef<HTMLDivElement>(null);
  const virtualizer = useVirtualizer({ count: rows.length, getScrollElement: () => scroller.current, estimateSize: () => ROW_HEIGHT, overscan: 12 });
  const open = useCallback((href: string) => router.push(href), [router]);
  return (
    <div className="runs-table-body" ref={scroller} role="rowgroup" data-testid="instance-scroller">
      {empty}
      <div style={{ height: virtualizer.getTotalSize(), position: "relative" }}>
        {virtualizer.getVirtualItems().map((item) => {
          const row = rows[item.index]!;
          return <InstanceRowView key={row.id} row={row} index={item.index} start={item.start} now={now} processLabel={processLabel(row)} version={versionOf(row)} onOpen={open} />;
        })}
      </div>
    </div>
  );
});

const InstanceRowView = memo(function InstanceRowView({
  row,
  index,
  start,
  now,
  processLabel,
  version,
  onOpen,
}: {
  row: InstanceRow;
  index: number;
  start: number;
  now: number;
  processLabel: string;
  version: number | null;
  onOpen: (href: string) => void;
}) {
  const current = statusAt(row, now);
  const terminal = current === "completed" || current === "failed" || current === "compensated";
  const href = instanceHref(row.id);
  return (
    <div
      className="runs-row"
      role="row"
      aria-rowindex={index + 2}
      style={{ transform: `translateY(${start}px)`, height: ROW_HEIGHT }}
      data-testid="instance-row"
      data-instance-id={row.id}
      data-status={current}
      onClick={(event) => {
        if ((event.target as HTMLElement).closest("a")) return;
        onOpen(href);
      }}
    >
      <span role="cell">
        <StatusBadge status={current} />
      </span>
      <span role="cell" className="runs-key">
        <Link href={href} title={row.reason ?? undefined} data-testid="instance-link" prefetch={false}>
          {row.correlationKey || shortId(row.id, 16)}
        </Link>
      </span>
      <span role="cell" className="runs-process">
        {processLabel}
        {version !== null ? <span className="runs-version">v{version}</span> : null}
      </span>
      <span role="cell" className="runs-mono" title={row.correlationId}>
        {shortId(row.correlationId, 13)}
      </span>
      <span role="cell" title={formatDateTime(row.startedAt)}>
        {formatRelative(row.startedAt, now)}
      </span>
      <span role="cell" title={formatDateTime(row.updatedAt)}>
        {formatRelative(row.updatedAt, now)}
      </span>
      <span role="cell" className="runs-duration">
        {terminal ? formatDuration(row.updatedAt - row.startedAt) : `${formatDuration(Math.max(0, now - row.startedAt))} so far`}
      </span>
    </div>
  );
});
