"use client";

import "./runs.css";

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import Link from "next/link";
import { useEffect, useState, type FormEvent } from "react";
import type { RouterInputs, RouterOutputs } from "@/server/api/root.ts";
import { useTRPC } from "@/components/trpc/client.tsx";
import { formatCount, formatDateTime } from "./format.ts";
import { cellText, columnsOf, valueAt } from "./read-model-columns.ts";
import { EmptyState, RunsHeader } from "./runs-ui.tsx";

type Projection = RouterOutputs["eventstore"]["projections"][number];
type ReadModelInput = RouterInputs["eventstore"]["readModel"];
type Condition = NonNullable<ReadModelInput["filter"]>[number];

const PAGE_SIZE = 50;
/** How often lag is measured; rows are fetched again whenever the projection's checkpoint moves. */
const LAG_INTERVAL_MS = 1_000;

export function ViewsPanel() {
  const trpc = useTRPC();
  const projections = useQuery({ ...trpc.eventstore.projections.queryOptions(), refetchInterval: 5_000 });
  const [selected, setSelected] = useState<string | null>(null);
  const list = projections.data ?? [];
  const current = list.find((projection) => projection.name === selected) ?? list[0] ?? null;

  return (
    <div className="runs-page" data-testid="views-page">
      <RunsHeader active="views">
        <p className="muted runs-subtitle">Read models projected from the event log: their rows, how far behind they are, and rebuilds.</p>
      </RunsHeader>
      {projections.isPending ? (
        <p className="muted">Loading read models…</p>
      ) : projections.isError ? (
        <p className="error-text" role="alert">
          Could not list the read models: {projections.error.message}
        </p>
      ) : list.length === 0 ? (
        <EmptyState title="No read model is being projected" testId="views-empty">
          <p className="muted">
            Read models are the query side of a process: views built from its events, such as a product list or an order status page. Once a projection runs on
            this server, its rows show here as a live table with its lag and a Rebuild button.
          </p>
          <Link className="button" href="/processes">
            Open your processes
          </Link>
        </EmptyState>
      ) : (
        <div className="runs-views">
          <nav className="card" style={{ padding: 0 }} aria-label="Read models">
            <ul className="runs-projection-list">
              {list.map((projection) => (
                <li key={projection.name}>
                  <button type="button" aria-current={projection.name === current?.name} onClick={() => setSelected(projection.name)} data-testid="projection-item">
                    <strong>{projection.name}</strong>
                    <small>{projection.eventTypes.join(", ")}</small>
                  </button>
                </li>
              ))}
            </ul>
          </nav>
          {current ? <ProjectionView key={current.name} projection={current} /> : null}
        </div>
      )}
    </div>
  );
}

function parseValue(text: string): Condition["value"] {
  try {
    return JSON.parse(text) as Condition["value"];
  } catch {
    return text;
  }
}

function ProjectionView({ projection }: { projection: Projection }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [filter, setFilter] = useState<Condition | null>(null);
  const [draft, setDraft] = useState<{ field: string; op: Condition["op"]; value: string }>({ field: "", op: "contains", value: "" });
  const [sort, setSort] = useState<{ field: string; direction: "asc" | "desc" } | null>(null);
  const [offset, setOffset] = useState(0);

  const lag = useQuery({ ...trpc.eventstore.lag.queryOptions({ projection: projection.name }), refetchInterval: LAG_INTERVAL_MS });
  const input: ReadModelInput = { projection: projection.name, limit: PAGE_SIZE, offset, ...(filter ? { filter: [filter] } : {}), ...(sort ? { sort } : {}) };
  const rows = useQuery({ ...trpc.eventstore.readModel.queryOptions(input), placeholderData: (previous) => previous });
  const checkpoint = lag.data?.checkpoint;
  useEffect(() => {
    if (checkpoint === undefined) return;
    void queryClient.invalidateQueries({ queryKey: trpc.eventstore.readModel.queryKey({ projection: projection.name }) });
  }, [checkpoint, queryClient, trpc, projection.name]);

  const [rebuilding, setRebuilding] = useState(projection.rebuild.status === "running");
  const progress = useQuery({ ...trpc.eventstore.rebuildProgress.queryOptions({ projection: projection.name }), refetchInterval: rebuilding ? 400 : false, initialData: projection.rebuild });
  const status = progress.data?.status;
  useEffect(() => {
    if (status && status !== "running" && rebuilding) {
      setRebuilding(false);
      void queryClient.invalidateQueries({ queryKey: trpc.eventstore.readModel.queryKey({ projection: projection.name }) });
    }
  }, [status, rebuilding, queryClient, trpc, projection.name]);
  const startRebuild = useMutation(
    trpc.eventstore.startRebuild.mutationOptions({
      onSuccess: (started) => {
        queryClient.setQueryData(trpc.eventstore.rebuildProgress.queryKey({ projection: projection.name }), started);
        setRebuilding(true);
      },
    }),
  );

  const page = rows.data;
  const columns = columnsOf(page?.rows ?? []);
  const queryable = columns.filter((column) => column.queryable);
  const rebuild = progress.data;
  const percent = rebuild && rebuild.total > 0 ? Math.min(100, Math.round((rebuild.processed / rebuild.total) * 100)) : rebuild?.status === "done" ? 100 : 0;

  const applyFilter = (event: FormEvent) => {
    event.preventDefault();
    setOffset(0);
    setFilter(draft.field && draft.value !== "" ? { field: draft.field, op: draft.op, value: parseValue(draft.value) } : null);
  };

  return (
    <section className="card" aria-labelledby="projection-title" data-testid="projection-view">
      <div className="runs-view-head">
        <h2 id="projection-title">{projection.name}</h2>
        {lag.data ? (
          <span className={`badge ${lag.data.behind === 0 ? "ok" : "warn"}`} data-testid="projection-lag">
            {lag.data.behind === 0 ? "up to date" : `${formatCount(lag.data.behind)} events behind`} · at position {formatCount(lag.data.checkpoint)}
          </span>
        ) : null}
        <span className="muted" style={{ fontSize: 12.5 }}>
          {page ? `${formatCount(page.total)} rows` : ""}
        </span>
        <div style={{ marginLeft: "auto", display: "flex", gap: 10, alignItems: "center" }}>
          {rebuild && rebuild.status !== "idle" ? (
            <>
              <div
                className="runs-progress"
                role="progressbar"
                aria-label="Rebuild progress"
                aria-valuemin={0}
                aria-valuemax={100}
                aria-valuenow={percent}
                data-testid="rebuild-progress"
              >
                <span style={{ width: `${percent}%`, background: rebuild.status === "failed" ? "var(--danger)" : undefined }} />
              </div>
              <span className="muted" style={{ fontSize: 12.5, whiteSpace: "nowrap" }} data-testid="rebuild-status">
                {rebuild.status === "running"
                  ? `${formatCount(rebuild.processed)} / ${formatCount(rebuild.total)} events`
                  : rebuild.status === "done"
                    ? `rebuilt ${rebuild.finishedAt ? formatDateTime(rebuild.finishedAt) : ""}`
                    : `failed: ${rebuild.error ?? "unknown error"}`}
              </span>
            </>
          ) : null}
          <button type="button" className="button" onClick={() => startRebuild.mutate({ projection: projection.name })} disabled={rebuilding || startRebuild.isPending} data-testid="rebuild">
            {rebuilding ? "Rebuilding…" : "Rebuild"}
          </button>
        </div>
      </div>
      {startRebuild.isError ? (
        <p className="error-text" role="alert">
          {startRebuild.error.message}
        </p>
      ) : null}

      <form className="runs-toolbar" style={{ marginBottom: 12 }} onSubmit={applyFilter} aria-label="Filter rows">
        <label className="runs-field">
          <span>Field</span>
          <select className="input" value={draft.field} onChange={(event) => setDraft({ ...draft, field: event.target.value })} data-testid="view-filter-field">
            <option value="">Choose a field</option>
            {queryable.map((column) => (
              <option key={column.path} value={column.path}>
                {column.path}
              </option>
            ))}
          </select>
        </label>
        <label className="runs-field" style={{ minWidth: 120 }}>
          <span>Match</span>
          <select className="input" value={draft.op} onChange={(event) => setDraft({ ...draft, op: event.target.value as Condition["op"] })}>
            <option value="contains">contains</option>
            <option value="eq">equals</option>
          </select>
        </label>
        <label className="runs-field runs-field-grow">
          <span>Value</span>
          <input className="input" value={draft.value} onChange={(event) => setDraft({ ...draft, value: event.target.value })} placeholder='text, or JSON such as 42 or true' data-testid="view-filter-value" />
        </label>
        <button type="submit" className="button primary">
          Apply
        </button>
        {filter ? (
          <button
            type="button"
            className="button"
            onClick={() => {
              setFilter(null);
              setDraft({ field: "", op: "contains", value: "" });
              setOffset(0);
            }}
          >
            Clear
          </button>
        ) : null}
      </form>

      {rows.isError ? (
        <p className="error-text" role="alert">
          {rows.error.message}
        </p>
      ) : page && page.rows.length === 0 ? (
        <p className="muted" data-testid="view-no-rows">
          {filter ? "No row matches this filter." : "The view has no rows yet: they appear as the events it projects are recorded."}
        </p>
      ) : (
        <div className="runs-view-table">
          <table className="table" data-testid="view-table">
            <thead>
              <tr>
                <th scope="col">Key</th>
                {columns.map((column) => (
                  <th key={column.path} scope="col" aria-sort={sort?.field === column.path ? (sort.direction === "asc" ? "ascending" : "descending") : undefined}>
                    {column.queryable ? (
                      <button
                        type="button"
                        className="runs-sort-button"
                        onClick={() => {
                          setOffset(0);
                          setSort(sort?.field === column.path ? { field: column.path, direction: sort.direction === "asc" ? "desc" : "asc" } : { field: column.path, direction: "asc" });
                        }}
                      >
                        {column.path || "value"}
                        <span aria-hidden>{sort?.field === column.path ? (sort.direction === "asc" ? "▲" : "▼") : "↕"}</span>
                      </button>
                    ) : (
                      column.path || "value"
                    )}
                  </th>
                ))}
                <th scope="col">Updated at</th>
              </tr>
            </thead>
            <tbody>
              {(page?.rows ?? []).map((row) => (
                <tr key={row.key} data-testid="view-row">
                  <td className="runs-mono">{row.key}</td>
                  {columns.map((column) => {
                    const text = cellText(valueAt(row.data, column.path));
                    return (
                      <td key={column.path} title={text}>
                        {text}
                      </td>
                    );
                  })}
                  <td className="muted">position {row.updatedPosition}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {page && page.total > PAGE_SIZE ? (
        <div className="runs-pager">
          <span className="muted">
            Rows {formatCount(offset + 1)}–{formatCount(Math.min(offset + PAGE_SIZE, page.total))} of {formatCount(page.total)}
          </span>
          <button type="button" className="button" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - PAGE_SIZE))}>
            Previous
          </button>
          <button type="button" className="button" disabled={offset + PAGE_SIZE >= page.total} onClick={() => setOffset(offset + PAGE_SIZE)}>
            Next
          </button>
        </div>
      ) : null}
    </section>
  );
}
