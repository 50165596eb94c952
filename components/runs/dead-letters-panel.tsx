"use client";

import "./runs.css";

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import Link from "next/link";
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import type { RouterOutputs } from "@/server/api/root.ts";
import { useTRPC } from "@/components/trpc/client.tsx";
import { formatClock, formatCount, formatDateTime, formatDuration, formatRelative } from "./format.ts";
import { instanceHref } from "./instance-list.tsx";
import { useProcessNames } from "./process-names.ts";
import { ConfirmDialog, EmptyState, JsonView, RunsHeader } from "./runs-ui.tsx";

type DeadLetter = RouterOutputs["runtime"]["deadLetters"]["list"]["messages"][number];

/** Parking is not a stored event, so the list is asked again this often. */
const REFRESH_MS = 2_000;
const LIMIT = 200;

function useNow(intervalMs: number): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), intervalMs);
    return () => clearInterval(timer);
  }, [intervalMs]);
  return now;
}

function useToast() {
  const [toast, setToast] = useState<{ text: string; tone: "info" | "error"; id: number } | null>(null);
  useEffect(() => {
    if (!toast) return;
    const timer = setTimeout(() => setToast(null), toast.tone === "error" ? 7000 : 4000);
    return () => clearTimeout(timer);
  }, [toast]);
  const element = toast ? (
    <div className="runs-toast" role={toast.tone === "error" ? "alert" : "status"} data-tone={toast.tone} data-testid="runs-toast">
      {toast.text}
    </div>
  ) : null;
  return { show: (text: string, tone: "info" | "error" = "info") => setToast({ text, tone, id: Date.now() }), element };
}

export function DeadLettersPanel() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const now = useNow(5_000);
  const [limit, setLimit] = useState(LIMIT);
  const list = useQuery({ ...trpc.runtime.deadLetters.list.queryOptions({ limit }), refetchInterval: REFRESH_MS });
  const messages = list.data?.messages ?? [];
  const boardIds = useMemo(() => [...new Set(messages.map((message) => message.boardId))].sort(), [messages]);
  const names = useProcessNames(boardIds, { contexts: true });
  const [inspected, setInspected] = useState<number | null>(null);
  const [discarding, setDiscarding] = useState<DeadLetter | null>(null);
  const toast = useToast();

  const refresh = () => queryClient.invalidateQueries({ queryKey: trpc.runtime.deadLetters.list.queryKey() });
  const redrive = useMutation(
    trpc.runtime.deadLetters.redrive.mutationOptions({
      onSuccess: (message) => {
        toast.show(`${message.type} is back in line and will be delivered again.`);
        if (inspected === message.id) setInspected(null);
        void refresh();
      },
      onError: (error) => toast.show(`Could not retry: ${error.message}`, "error"),
    }),
  );
  const discard = useMutation(
    trpc.runtime.deadLetters.discard.mutationOptions({
      onSuccess: (message) => {
        toast.show(`${message.type} was discarded.`);
        setDiscarding(null);
        if (inspected === message.id) setInspected(null);
        void refresh();
      },
      onError: (error) => toast.show(`Could not discard: ${error.message}`, "error"),
    }),
  );

  const closeDetails = useCallback(() => setInspected(null), []);
  const target = (message: DeadLetter) => names.contextName(message.boardId, message.contextId) ?? message.targetId;

  return (
    <div className="runs-page" data-testid="dead-letters-page">
      <RunsHeader active="dead-letters">
        <p className="muted runs-subtitle">
          Messages that kept failing and were parked. A parked message holds back the messages after it in its stream until it is retried or discarded.
        </p>
      </RunsHeader>

      {list.isPending ? (
        <p className="muted">Loading dead letters…</p>
      ) : list.isError ? (
        <p className="error-text" role="alert">
          Could not list dead letters: {list.error.message}
        </p>
      ) : messages.length === 0 ? (
        <EmptyState title="No dead letters" testId="dead-letters-empty">
          <p className="muted">
            Every message was delivered. When a command or event keeps failing after all its retries, it is parked here, where you can inspect it, retry it
            once the cause is fixed, or discard it.
          </p>
        </EmptyState>
      ) : (
        <>
          <div className="card" style={{ padding: 0, overflow: "auto" }}>
            <table className="table runs-dlq-table" data-testid="dead-letter-table">
              <thead>
                <tr>
                  <th scope="col">Message</th>
                  <th scope="col">Target</th>
                  <th scope="col">Error</th>
                  <th scope="col">Attempts</th>
                  <th scope="col">Parked</th>
                  <th scope="col">
                    <span className="muted">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {messages.map((message) => (
                  <tr key={message.id} aria-selected={inspected === message.id} data-testid="dead-letter-row" data-message-id={message.messageId}>
                    <td>
                      <strong>{message.type}</strong>
                      <div className="muted" style={{ fontSize: 12 }}>
                        {message.kind}
                        {message.instanceId ? (
                          <>
                            {" · "}
                            <Link href={instanceHref(message.instanceId)}>its instance</Link>
                          </>
                        ) : null}
                      </div>
                    </td>
                    <td>{target(message)}</td>
                    <td>
                      <div className="runs-dlq-error" title={message.lastError ?? undefined}>
                        {message.lastError ?? "—"}
                      </div>
                    </td>
                    <td>{message.attempts}</td>
                    <td title={message.parkedAt ? formatDateTime(message.parkedAt) : undefined}>{message.parkedAt ? formatRelative(message.parkedAt.getTime(), now) : "—"}</td>
                    <td className="runs-dlq-actions">
                      <button type="button" className="button" onClick={() => setInspected(inspected === message.id ? null : message.id)} aria-label={`Inspect ${message.type}`} aria-expanded={inspected === message.id} data-testid="dead-letter-inspect">
                        Inspect
                      </button>
                      <button type="button" className="button primary" onClick={() => redrive.mutate({ id: message.id })} disabled={redrive.isPending} aria-label={`Retry ${message.type}`} data-testid="dead-letter-retry">
                        Retry
                      </button>
                      <button type="button" className="button danger" onClick={() => setDiscarding(message)} aria-label={`Discard ${message.type}`} data-testid="dead-letter-discard">
                        Discard
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
            {list.data?.nextAfter !== null && list.data?.nextAfter !== undefined ? (
              <div className="runs-pager" style={{ padding: 12 }}>
                <span className="muted">Showing the oldest {formatCount(messages.length)}</span>
                <button type="button" className="button" onClick={() => setLimit(limit + LIMIT)}>
                  Show more
                </button>
              </div>
            ) : null}
          </div>
          {inspected !== null ? (
            <DeadLetterDetails
              id={inspected}
              target={(message) => target(message)}
              onClose={closeDetails}
              onRetry={(message) => redrive.mutate({ id: message.id })}
              onDiscard={(message) => setDiscarding(message)}
              busy={redrive.isPending}
            />
          ) : null}
        </>
      )}

      <ConfirmDialog
        open={discarding !== null}
        title={discarding ? `Discard ${discarding.type}?` : "Discard?"}
        confirmLabel="Discard for good"
        danger
        busy={discard.isPending}
        onConfirm={() => discarding && discard.mutate({ id: discarding.id })}
        onCancel={() => setDiscarding(null)}
      >
        <p>The message will never be delivered, and the messages it held back move on.</p>
        {discarding?.kind === "command" && discarding.instanceId ? <p>The process instance that sent it counts the command as failed and compensates what it already did.</p> : null}
      </ConfirmDialog>
      {toast.element}
    </div>
  );
}

function DeadLetterDetails({
  id,
  target,
  onClose,
  onRetry,
  onDiscard,
  busy,
}: {
  id: number;
  target: (message: DeadLetter) => string;
  onClose: () => void;
  onRetry: (message: DeadLetter) => void;
  onDiscard: (message: DeadLetter) => void;
  busy: boolean;
}) {
  const trpc = useTRPC();
  const letter = useQuery(trpc.runtime.deadLetters.get.queryOptions({ id }));
  const closeButton = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    closeButton.current?.focus({ preventScroll: true });
    const onKey = (event: KeyboardEvent) => {
      // Escape in an open dialog belongs to the dialog.
      if (event.key === "Escape" && !document.querySelector("dialog[open]")) onClose();
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [onClose]);
  return (
    <aside className="runs-panel" aria-labelledby="dead-letter-title" data-testid="dead-letter-details" role="dialog" aria-modal="false">
      <div className="runs-panel-head">
        <div className="runs-panel-head-row">
          <span className="runs-msg-kind" style={{ opacity: 1, color: "var(--muted)" }}>
            Dead letter{letter.data ? ` · ${letter.data.kind} to ${target(letter.data)}` : ""}
          </span>
          <button type="button" className="runs-panel-close" onClick={onClose} aria-label="Close details" ref={closeButton}>
            ×
          </button>
        </div>
        <h2 id="dead-letter-title">{letter.data ? letter.data.type : "Dead letter"}</h2>
      </div>
      <div className="runs-panel-body">
        {letter.isPending ? (
          <p className="muted">Loading…</p>
        ) : letter.isError ? (
          <p className="muted">{letter.error.data?.code === "NOT_FOUND" ? "It is no longer parked: it was retried or discarded." : letter.error.message}</p>
        ) : (
          <div style={{ display: "grid", gap: 14 }}>
            <dl className="runs-kv">
              <dt>Kind</dt>
              <dd>{letter.data.kind}</dd>
              <dt>Target</dt>
              <dd>
                {target(letter.data)} ({letter.data.targetId})
              </dd>
              <dt>Message id</dt>
              <dd className="runs-mono">{letter.data.messageId}</dd>
              <dt>Correlation id</dt>
              <dd className="runs-mono">{letter.data.metadata.correlationId}</dd>
            </dl>
            <div>
              <h3 style={{ fontSize: 13.5, margin: "0 0 6px" }}>Error</h3>
              <pre className="runs-mini-error" style={{ margin: 0, padding: "8px 10px", background: "var(--danger-soft)", borderRadius: 6 }} data-testid="dead-letter-error">
                {letter.data.lastError ?? "No error was recorded."}
              </pre>
            </div>
            <div>
              <h3 style={{ fontSize: 13.5, margin: "0 0 6px" }}>Attempts</h3>
              <ol className="runs-mini-list" data-testid="dead-letter-attempts">
                <li>
                  <strong>Queued</strong>
                  <span className="muted">{formatClock(letter.data.createdAt)}</span>
                </li>
                <li>
                  <strong>
                    {letter.data.attempts} failed {letter.data.attempts === 1 ? "attempt" : "attempts"}
                  </strong>
                  <span className="muted">
                    of {letter.data.retry.maxAttempts} allowed; waits from {formatDuration(letter.data.retry.initialDelayMs)}, ×{letter.data.retry.multiplier} each time, at most{" "}
                    {formatDuration(letter.data.retry.maxDelayMs)}
                  </span>
                </li>
                <li>
                  <strong>Parked</strong>
                  <span className="muted">
                    {letter.data.parkedAt ? `${formatClock(letter.data.parkedAt)}, ${formatDuration(letter.data.parkedAt.getTime() - letter.data.createdAt.getTime())} after it was queued` : "—"}
                  </span>
                </li>
              </ol>
            </div>
            <div>
              <h3 style={{ fontSize: 13.5, margin: "0 0 6px" }}>Payload</h3>
              <JsonView value={letter.data.payload} label="Payload" testId="dead-letter-payload" />
            </div>
            <div style={{ display: "flex", gap: 8 }}>
              <button type="button" className="button primary" onClick={() => onRetry(letter.data)} disabled={busy}>
                Retry now
              </button>
              <button type="button" className="button danger" onClick={() => onDiscard(letter.data)}>
                Discard…
              </button>
            </div>
          </div>
        )}
      </div>
    </aside>
  );
}
