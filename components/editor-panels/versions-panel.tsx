"use client";

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useRouter } from "next/navigation";
import { useRef, useState } from "react";
import { useTRPC, useTRPCClient } from "@/components/trpc/client.tsx";
import type { DiffCategory, ElementChange } from "@/server/compiler/diff.ts";
import { downloadJson, fileSlug } from "./download.ts";

/** What one element of each category is called. */
const elementLabel: Record<DiffCategory, string> = {
  process: "process",
  contexts: "context",
  actors: "actor",
  messages: "message",
  aggregates: "aggregate",
  processManagers: "process manager",
  steps: "step",
  views: "view",
  timers: "timer",
  bindings: "external binding",
};

const show = (value: unknown) => (value === undefined ? "—" : JSON.stringify(value));

export interface VersionsPanelProps {
  boardId: string;
  boardName: string;
  /** Why publishing is not possible now, if it is not. */
  publishBlocked: string | null;
}

export function VersionsPanel({ boardId, boardName, publishBlocked }: VersionsPanelProps) {
  const trpc = useTRPC();
  const client = useTRPCClient();
  const queryClient = useQueryClient();
  const router = useRouter();
  const versions = useQuery(trpc.runtime.versions.queryOptions({ boardId }));
  const [message, setMessage] = useState<{ tone: "ok" | "error"; text: string } | null>(null);
  // A new or deployed version changes which contexts the canvas offers fault controls for.
  const refresh = () =>
    Promise.all([
      queryClient.invalidateQueries({ queryKey: trpc.runtime.versions.queryKey({ boardId }) }),
      queryClient.invalidateQueries({ queryKey: trpc.runtime.contexts.list.queryKey({ boardId }) }),
    ]);
  const fail = (error: unknown) => setMessage({ tone: "error", text: (error as Error).message });

  const publish = useMutation(
    trpc.runtime.publish.mutationOptions({
      onSuccess: (result) => {
        setMessage({ tone: "ok", text: result.created ? `Published version ${result.version.version}.` : `Nothing changed since version ${result.version.version}.` });
        void refresh();
      },
      onError: fail,
    }),
  );
  const deploy = useMutation(trpc.runtime.deploy.mutationOptions({ onSuccess: (v) => (setMessage({ tone: "ok", text: `Version ${v.version} is deployed.` }), void refresh()), onError: fail }));
  const undeploy = useMutation(trpc.runtime.undeploy.mutationOptions({ onSuccess: (v) => (setMessage({ tone: "ok", text: `Version ${v.version} is no longer deployed.` }), void refresh()), onError: fail }));

  const list = versions.data ?? [];
  const newest = list[0]?.version;
  const [from, setFrom] = useState<number | null>(null);
  const [to, setTo] = useState<number | null>(null);
  const diffFrom = from ?? (newest !== undefined && newest > 1 ? newest - 1 : null);
  const diffTo = to ?? newest ?? null;
  const diff = useQuery({
    ...trpc.definition.diff.queryOptions({ boardId, from: diffFrom ?? 1, to: diffTo ?? 1 }),
    enabled: diffFrom !== null && diffTo !== null && diffFrom !== diffTo,
  });

  const download = async (kind: "definition" | "asyncapi", version: number) => {
    try {
      const slug = `${fileSlug(boardName)}-v${version}`;
      if (kind === "definition") downloadJson(`${slug}.definition.json`, await client.definition.exportDefinition.query({ boardId, version }));
      else downloadJson(`${slug}.asyncapi.json`, await client.definition.asyncapi.query({ boardId, version }));
    } catch (error) {
      fail(error);
    }
  };

  const fileInput = useRef<HTMLInputElement>(null);
  const importDefinition = async (file: File) => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(await file.text());
    } catch {
      setMessage({ tone: "error", text: `${file.name} is not JSON.` });
      return;
    }
    try {
      const board = await client.definition.importDefinition.mutate({ definition: parsed });
      await queryClient.invalidateQueries({ queryKey: trpc.board.list.queryKey() });
      router.push(`/processes/${board.id}`);
    } catch (error) {
      fail(error);
    }
  };

  return (
    <div className="versions ep-panel-pad" data-testid="versions-panel">
      <div className="ep-panel-row">
        <button type="button" className="button primary small" disabled={publishBlocked !== null || publish.isPending} title={publishBlocked ?? "Compile the saved board and publish it as the next version"} onClick={() => publish.mutate({ boardId })}>
          {publish.isPending ? "Publishing…" : "Publish"}
        </button>
        <button type="button" className="button small" onClick={() => fileInput.current?.click()}>
          Import definition…
        </button>
        <input
          ref={fileInput}
          type="file"
          accept="application/json,.json"
          className="visually-hidden"
          aria-label="Definition file to import"
          onChange={(event) => {
            const file = event.target.files?.[0];
            event.target.value = "";
            if (file) void importDefinition(file);
          }}
        />
      </div>
      {publishBlocked ? <p className="muted small">{publishBlocked}</p> : null}
      {message ? (
        <p className={message.tone === "error" ? "error-text ep-multiline" : "ep-ok-text"} role={message.tone === "error" ? "alert" : "status"}>
          {message.text}
        </p>
      ) : null}

      <h3 className="ep-panel-heading">Versions</h3>
      {versions.isPending ? <p className="muted small">Loading…</p> : null}
      {versions.isError ? <p className="error-text">{versions.error.message}</p> : null}
      {versions.data && list.length === 0 ? <p className="muted small">Nothing published yet.</p> : null}
      <ul className="ep-version-list" aria-label="Published versions">
        {list.map((version) => (
          <li key={version.id} className="ep-version-row" data-testid={`version-${version.version}`}>
            <span className="ep-version-number">v{version.version}</span>
            <span className="version-meta small muted">{version.publishedAt.toLocaleString()}</span>
            {version.deployed ? <span className="badge ep-deployed-badge">deployed</span> : null}
            <span className="ep-version-actions">
              {version.deployed ? (
                <button type="button" className="button small" disabled={undeploy.isPending} onClick={() => undeploy.mutate({ boardId, version: version.version })} aria-label={`Undeploy version ${version.version}`}>
                  Undeploy
                </button>
              ) : (
                <button type="button" className="button small" disabled={deploy.isPending} onClick={() => deploy.mutate({ boardId, version: version.version })} aria-label={`Deploy version ${version.version}`}>
                  Deploy
                </button>
              )}
              <button type="button" className="button small" onClick={() => void download("definition", version.version)} aria-label={`Download definition of version ${version.version}`} title="Definition JSON">
                ⇩ JSON
              </button>
              <button type="button" className="button small" onClick={() => void download("asyncapi", version.version)} aria-label={`Download AsyncAPI of version ${version.version}`} title="AsyncAPI 3 document">
                ⇩ AsyncAPI
              </button>
            </span>
          </li>
        ))}
      </ul>

      {list.length > 1 ? (
        <section aria-label="Compare versions">
          <h3 className="ep-panel-heading">Compare</h3>
          <div className="ep-panel-row">
            <label className="small">
              From{" "}
              <select value={diffFrom ?? ""} onChange={(event) => setFrom(Number(event.target.value))}>
                {list.map((version) => (
                  <option key={version.id} value={version.version}>
                    v{version.version}
                  </option>
                ))}
              </select>
            </label>
            <label className="small">
              To{" "}
              <select value={diffTo ?? ""} onChange={(event) => setTo(Number(event.target.value))}>
                {list.map((version) => (
                  <option key={version.id} value={version.version}>
                    v{version.version}
                  </option>
                ))}
              </select>
            </label>
          </div>
          {diffFrom === diffTo ? <p className="muted small">Pick two different versions.</p> : null}
          {diff.isError ? <p className="error-text">{diff.error.message}</p> : null}
          {diff.data ? <DiffView changes={diff.data.changes} counts={diff.data.counts} /> : null}
        </section>
      ) : null}
    </div>
  );
}

function DiffView({ changes, counts }: { changes: ElementChange[]; counts: { added: number; removed: number; changed: number } }) {
  if (changes.length === 0) return <p className="muted small">The two versions are the same.</p>;
  return (
    <div className="diff" data-testid="version-diff">
      <p className="small">
        {counts.added} added · {counts.removed} removed · {counts.changed} changed
      </p>
      <ul className="ep-diff-list">
        {changes.map((change) => (
          <li key={`${change.category}-${change.id}`} className={`ep-diff-item ep-diff-${change.change}`}>
            <span className="ep-diff-sign" aria-hidden>
              {change.change === "added" ? "+" : change.change === "removed" ? "−" : "~"}
            </span>
            <span>
              <strong>{change.name}</strong> <span className="muted small">{change.kind ?? elementLabel[change.category]} {change.change}</span>
              {change.fields.length > 0 ? (
                <ul className="ep-diff-fields">
                  {change.fields.map((field) => (
                    <li key={field.path} className="mono small">
                      {field.path}: {show(field.before)} → {show(field.after)}
                    </li>
                  ))}
                </ul>
              ) : null}
            </span>
          </li>
        ))}
      </ul>
    </div>
  );
}
