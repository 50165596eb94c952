"use client";

import "./runs.css";

import { useQuery, useQueryClient } from "@tanstack/react-query";
import Link from "next/link";
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import type { RouterOutputs } from "@/server/api/root.ts";
import { useTRPC } from "@/components/trpc/client.tsx";
import type { CloudEvent } from "./cloud-events.ts";
import { formatClock, formatDateTime, formatDuration, formatRelative, shortId } from "./format.ts";
import { useLiveLog } from "./live.ts";
import { MessagePanel } from "./message-panel.tsx";
import { useProcessNames } from "./process-names.ts";
import { stateAfter, type ProcessState } from "./process-state.ts";
import { EmptyState, LiveBadge, StatusBadge } from "./runs-ui.tsx";
import { KIND_LABELS, TimelineCanvas, type DeliveryFlag } from "./timeline-canvas.tsx";
import { layoutTimeline } from "./timeline-layout.ts";
import { timelineMessages, type TimelineMessage } from "./timeline-model.ts";

type InstanceDetail = RouterOutputs["runtime"]["instance"];
type PendingMessage = InstanceDetail["pending"][number];

const TERMINAL = new Set(["completed", "failed", "compensated"]);

/** Retries and parking are not stored events; the outbox rows of the instance say how its deliveries are doing. */
function deliveryFlags(pending: readonly PendingMessage[]): Map<string, DeliveryFlag> {
  const flags = new Map<string, DeliveryFlag>();
  for (const message of pending) {
    if (message.status === "parked") {
      flags.set(message.messageId, { tone: "danger", text: "parked", title: `Parked after ${message.attempts} attempts: ${message.lastError ?? "no error recorded"}` });
    } else if (message.attempts > 0) {
      flags.set(message.messageId, { tone: "warn", text: `retry ${message.attempts}`, title: `Failed ${message.attempts} times, next try ${formatClock(message.availableAt)}: ${message.lastError ?? ""}` });
    } else {
      flags.set(message.messageId, { tone: "info", text: "queued", title: `Waiting in the outbox since ${formatClock(message.createdAt)}` });
    }
  }
  return flags;
}

function useNow(intervalMs: number): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), intervalMs);
    return () => clearInterval(timer);
  }, [intervalMs]);
  return now;
}

export function InstanceView({ instanceId }: { instanceId: string }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const detail = useQuery({
    ...trpc.runtime.instance.queryOptions({ instanceId }),
    // Delivery attempts and parking are not in the log: while work is outstanding, ask again.
    refetchInterval: (query) => {
      const data = query.state.data;
      if (!data) return false;
      return !TERMINAL.has(data.instance.status) || data.pending.length > 0 ? 2_000 : false;
    },
  });
  const correlationId = detail.data?.instance.correlationId ?? null;
  const { events, live } = useLiveLog(correlationId === null ? null : `instance-${correlationId}`);

  // Each batch of live events may have changed the header (status, pending, timers).
  const refreshTimer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const newest = events.length > 0 ? events[events.length - 1]!.position : 0;
  useEffect(() => {
    if (newest === 0) return;
    clearTimeout(refreshTimer.current ?? undefined);
    refreshTimer.current = setTimeout(() => void queryClient.invalidateQueries({ queryKey: trpc.runtime.instance.queryKey({ instanceId }) }), 250);
    return () => clearTimeout(refreshTimer.current ?? undefined);
  }, [newest, queryClient, trpc, instanceId]);

  const names = useProcessNames(detail.data ? [detail.data.instance.boardId] : [], { contexts: true });

  if (detail.isPending) {
    return (
      <div className="runs-instance">
        <Breadcrumb label="Loading…" />
        <p className="muted">Loading the instance…</p>
      </div>
    );
  }
  if (detail.isError) {
    const missing = detail.error.data?.code === "NOT_FOUND";
    return (
      <div className="runs-instance">
        <Breadcrumb label="Not found" />
        <EmptyState title={missing ? "There is no such instance" : "The instance could not be loaded"} testId="instance-missing">
          <p className="muted">{missing ? "It may belong to a process that was removed, or the link is mistyped." : detail.error.message}</p>
          <Link className="button" href="/runs">
            Back to all runs
          </Link>
        </EmptyState>
      </div>
    );
  }
  return <InstanceContent detail={detail.data} events={events} live={live} names={names} />;
}

function Breadcrumb({ label }: { label: string }) {
  return (
    <nav className="runs-breadcrumb" aria-label="Breadcrumb">
      <Link href="/runs">Runs</Link>
      <span aria-hidden>›</span>
      <span aria-current="page">{label}</span>
    </nav>
  );
}

function InstanceContent({
  detail,
  events,
  live,
  names,
}: {
  detail: InstanceDetail;
  events: CloudEvent[];
  live: ReturnType<typeof useLiveLog>["live"];
  names: ReturnType<typeof useProcessNames>;
}) {
  const { instance } = detail;
  const now = useNow(1_000);
  const ownProcess = names.processLabel(instance.boardId, instance.processId);
  const messages = useMemo(
    () => timelineMessages(events, (board, processId) => (board === instance.boardId && processId === instance.processId ? ownProcess : processId)),
    [events, instance.boardId, instance.processId, ownProcess],
  );
  const layout = useMemo(() => layoutTimeline(messages), [messages]);
  const flags = useMemo(() => deliveryFlags(detail.pending), [detail.pending]);
  const origin = messages[0]?.time ?? instance.startedAt.getTime();
  // null: follow the newest message as it arrives.
  const [cursor, setCursor] = useState<number | null>(null);
  const [panelPosition, setPanelPosition] = useState<number | null>(null);
  const cursorIndex = cursor === null ? messages.length - 1 : Math.min(cursor, messages.length - 1);
  const cursorMessage = messages[cursorIndex] ?? null;
  const state = useMemo(() => (cursorMessage ? stateAfter(events, instance.id, cursorMessage.position) : null), [events, instance.id, cursorMessage]);
  const panelMessage = panelPosition === null ? null : (messages.find((message) => message.position === panelPosition) ?? null);

  const select = useCallback(
    (message: TimelineMessage) => {
      const index = messages.findIndex((candidate) => candidate.position === message.position);
      setCursor(index === messages.length - 1 ? null : index);
      setPanelPosition(message.position);
    },
    [messages],
  );
  const moveCursor = (index: number) => {
    const clamped = Math.max(0, Math.min(messages.length - 1, index));
    setCursor(clamped === messages.length - 1 ? null : clamped);
    if (panelPosition !== null && messages[clamped]) setPanelPosition(messages[clamped].position);
  };

  const version = names.versionNumber(instance.versionId);
  const terminal = TERMINAL.has(instance.status);
  const pendingCommands = detail.pending.filter((message) => message.kind !== "event");
  const pendingDeliveries = detail.pending.filter((message) => message.kind === "event");
  const scheduledTimers = detail.timers.filter((timer) => timer.status === "scheduled");

  return (
    <div className="runs-instance" data-testid="instance-page">
      <Breadcrumb label={instance.correlationKey || shortId(instance.id, 20)} />

      <section className="card runs-instance-card" aria-labelledby="instance-title">
        <div className="runs-instance-main">
          <div className="runs-instance-head">
            <div>
              <div className="runs-instance-title">
                <h1 id="instance-title">{instance.correlationKey || instance.id}</h1>
                <StatusBadge status={instance.status} large />
                <span className="muted">
                  {names.processLabel(instance.boardId, instance.processId)}
                  {version !== null ? ` · version ${version}` : ""}
                </span>
              </div>
              {instance.reason ? (
                <p className="runs-instance-reason" data-testid="instance-reason">
                  {instance.reason}
                </p>
              ) : null}
            </div>
            <LiveBadge live={live} />
          </div>
          <dl className="runs-facts">
            <div>
              <dt>Correlation id</dt>
              <dd className="runs-mono" title={instance.correlationId} data-testid="instance-correlation-id">
                {instance.correlationId}
              </dd>
            </div>
            <div>
              <dt>Definition version</dt>
              <dd title={instance.versionId} data-testid="instance-version">
                {version !== null ? `v${version}` : instance.versionId}
              </dd>
            </div>
            <div>
              <dt>Started</dt>
              <dd title={formatDateTime(instance.startedAt)}>
                {formatClock(instance.startedAt)} · {formatRelative(instance.startedAt.getTime(), now)}
              </dd>
            </div>
            <div>
              <dt>{terminal ? "Finished" : "Last activity"}</dt>
              <dd title={formatDateTime(instance.lastActivityAt)}>
                {formatClock(instance.lastActivityAt)} · {formatRelative(instance.lastActivityAt.getTime(), now)}
              </dd>
            </div>
            <div>
              <dt>Duration</dt>
              <dd data-testid="instance-duration">
                {terminal ? formatDuration(instance.updatedAt.getTime() - instance.startedAt.getTime()) : `${formatDuration(now - instance.startedAt.getTime())} so far`}
              </dd>
            </div>
            <div>
              <dt>Instance id</dt>
              <dd className="runs-mono" title={instance.id}>
                {instance.id}
              </dd>
            </div>
          </dl>
        </div>
        <div className="runs-instance-aside">
          <section aria-labelledby="pending-title" data-testid="pending-commands">
            <div className="runs-section-title">
              <h3 id="pending-title">Pending commands</h3>
              <span className="badge">{pendingCommands.length + pendingDeliveries.length}</span>
            </div>
            {pendingCommands.length + pendingDeliveries.length === 0 ? (
              <p className="muted" style={{ margin: 0 }}>
                {terminal ? "Nothing left to deliver." : "Nothing waiting in the outbox right now."}
              </p>
            ) : (
              <ul className="runs-mini-list">
                {[...pendingCommands, ...pendingDeliveries].map((message) => (
                  <li key={message.id}>
                    <strong>{message.type}</strong>
                    <span className="muted">
                      {message.kind === "event" ? "to this instance" : `to ${names.contextName(message.boardId, message.contextId) ?? message.targetId}`}
                    </span>
                    {message.status === "parked" ? (
                      <Link className="badge danger" href="/runs/dead-letters">
                        parked · dead letter
                      </Link>
                    ) : (
                      <span className={`badge${message.attempts > 0 ? " warn" : ""}`}>{message.attempts > 0 ? `attempt ${message.attempts + 1} ${formatRelative(message.availableAt.getTime(), now)}` : "queued"}</span>
                    )}
                    {message.lastError ? <span className="runs-mini-error">{message.lastError}</span> : null}
                  </li>
                ))}
              </ul>
            )}
          </section>
          <section aria-labelledby="timers-title" data-testid="instance-timers">
            <div className="runs-section-title">
              <h3 id="timers-title">Timers</h3>
              <span className="badge">{scheduledTimers.length}</span>
            </div>
            {detail.timers.length === 0 ? (
              <p className="muted" style={{ margin: 0 }}>
                This instance set no timers or deadlines.
              </p>
            ) : (
              <ul className="runs-mini-list">
                {detail.timers.map((timer) => (
                  <li key={timer.id}>
                    <strong>{timer.kind === "deadline" ? `Deadline of ${timer.stepId ?? "a step"}` : "Timer"}</strong>
                    <span className="muted">
                      {timer.status === "scheduled" ? `fires ${formatRelative(timer.fireAt.getTime(), now)} (${formatClock(timer.fireAt)})` : `${timer.status} ${timer.settledAt ? formatClock(timer.settledAt) : ""}`}
                    </span>
                    <span className={`badge${timer.status === "scheduled" ? " warn" : ""}`}>{timer.status}</span>
                  </li>
                ))}
              </ul>
            )}
          </section>
        </div>
      </section>

      <section className="card runs-timeline-card" aria-labelledby="timeline-title">
        <div className="runs-timeline-bar">
          <h2 id="timeline-title">Timeline</h2>
          <span className="muted" data-testid="timeline-count">
            {messages.length} messages
          </span>
          <div className="runs-legend" aria-label="Legend">
            <span>
              <i style={{ background: "var(--kind-event)" }} />
              Event
            </span>
            <span>
              <i style={{ background: "var(--kind-command)" }} />
              Command
            </span>
            <span>
              <i style={{ background: "var(--kind-policy)" }} />
              Process
            </span>
            <span>
              <i style={{ background: "var(--kind-timer)" }} />
              Timer
            </span>
            <span>
              <i style={{ background: "#ffd9dc" }} />
              Rejection / failure
            </span>
            <span>
              <svg width="26" height="8" aria-hidden>
                <line x1="0" y1="4" x2="26" y2="4" stroke="#3f6fd8" strokeWidth="2" />
              </svg>
              handled in
            </span>
            <span>
              <svg width="26" height="8" aria-hidden>
                <line x1="0" y1="4" x2="26" y2="4" stroke="#9b6ad8" strokeWidth="2" strokeDasharray="5 4" />
              </svg>
              reacted after
            </span>
          </div>
        </div>
        {messages.length === 0 ? (
          <div style={{ padding: 24 }} className="muted" data-testid="timeline-waiting">
            {live.state === "live" ? "Waiting for the first message…" : "Connecting to the live log…"}
          </div>
        ) : (
          <TimelineCanvas layout={layout} origin={origin} cursorPosition={cursor === null ? null : (cursorMessage?.position ?? null)} selectedPosition={panelPosition} flags={flags} follow={cursor === null && !terminal} onSelect={select} />
        )}
        {messages.length > 0 && cursorMessage ? (
          <div className="runs-slider">
            <div className="runs-slider-buttons">
              <button type="button" className="button" onClick={() => moveCursor(cursorIndex - 1)} disabled={cursorIndex <= 0} aria-label="Previous message">
                ←
              </button>
              <button type="button" className="button" onClick={() => moveCursor(cursorIndex + 1)} disabled={cursorIndex >= messages.length - 1} aria-label="Next message">
                →
              </button>
            </div>
            <div style={{ display: "grid", gap: 4, minWidth: 0 }}>
              <label htmlFor="time-slider" className="runs-slider-label" data-testid="slider-label">
                State after message {cursorIndex + 1} of {messages.length}: <strong>{cursorMessage.title}</strong> in {cursorMessage.lane.name} at +{formatDuration(cursorMessage.time - origin)}
              </label>
              <input
                id="time-slider"
                type="range"
                min={0}
                max={messages.length - 1}
                value={cursorIndex}
                onChange={(event) => moveCursor(Number(event.target.value))}
                aria-valuetext={`Message ${cursorIndex + 1} of ${messages.length}: ${cursorMessage.title}`}
                data-testid="time-slider"
              />
            </div>
            <button type="button" className={`button${cursor === null ? " primary" : ""}`} onClick={() => setCursor(null)} aria-pressed={cursor === null} data-testid="follow-live">
              {cursor === null ? "Following" : "Follow latest"}
            </button>
          </div>
        ) : null}
      </section>

      <div className="runs-lower">
        <section className="card" aria-labelledby="state-title" data-testid="state-panel">
          <div className="runs-section-title">
            <h2 id="state-title">State {cursor === null ? "now" : `after message ${cursorIndex + 1}`}</h2>
            {state ? <StatusBadge status={state.status} /> : null}
          </div>
          {state ? <StateView state={state} /> : <p className="muted">No records yet.</p>}
        </section>
        <section className="card" aria-labelledby="log-title">
          <div className="runs-section-title">
            <h2 id="log-title">Messages</h2>
            <span className="muted" style={{ fontSize: 12.5 }}>
              every stored event of this correlation, in log order
            </span>
          </div>
          <MessageLog messages={messages} origin={origin} cursorIndex={cursor === null ? null : cursorIndex} selectedPosition={panelPosition} onSelect={select} />
        </section>
      </div>

      {panelMessage ? (
        <MessagePanel
          message={panelMessage}
          messages={messages}
          origin={origin}
          pending={detail.pending.filter((message) => panelMessage.keys.includes(message.messageId))}
          onSelect={select}
          onClose={() => setPanelPosition(null)}
        />
      ) : null}
    </div>
  );
}

function StateView({ state }: { state: ProcessState }) {
  const steps = Object.entries(state.steps).sort(([, a], [, b]) => a.sequence - b.sequence);
  const timers = Object.values(state.timers);
  const seen = Object.keys(state.events);
  return (
    <div style={{ display: "grid", gap: 12 }}>
      {state.reason ? (
        <p className="muted" style={{ margin: 0 }}>
          {state.reason}
        </p>
      ) : null}
      {steps.length === 0 ? (
        <p className="muted" style={{ margin: 0 }}>
          No step has run yet.
        </p>
      ) : (
        <table className="table runs-state-table" data-testid="state-steps">
          <thead>
            <tr>
              <th>#</th>
              <th>Step</th>
              <th>Status</th>
              <th>Triggered by</th>
            </tr>
          </thead>
          <tbody>
            {steps.map(([stepId, step]) => (
              <tr key={stepId}>
                <td>{step.sequence}</td>
                <td>{stepId}</td>
                <td>
                  <span className="runs-step-status" data-status={step.status}>
                    {step.status}
                  </span>
                </td>
                <td>{step.trigger.event.name}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <div>
        <div className="muted" style={{ fontSize: 12, fontWeight: 600, marginBottom: 4 }}>
          Events seen
        </div>
        <div className="runs-chips">
          {seen.length === 0 ? <span className="muted">none</span> : seen.map((name) => (
            <span key={name} className="runs-chip" title={JSON.stringify(state.events[name])}>
              {name}
            </span>
          ))}
        </div>
      </div>
      {timers.length > 0 ? (
        <div>
          <div className="muted" style={{ fontSize: 12, fontWeight: 600, marginBottom: 4 }}>
            Active timers
          </div>
          <div className="runs-chips">
            {timers.map((timer) => (
              <span key={timer.timerId} className="runs-chip" data-kind="timer">
                {timer.kind === "deadline" ? `deadline of ${timer.stepId ?? "step"}` : (timer.timer?.name ?? "timer")} · {formatClock(Date.parse(timer.fireAt))}
              </span>
            ))}
          </div>
        </div>
      ) : null}
      {state.outstandingCompensations.length > 0 ? (
        <p style={{ margin: 0 }}>
          <span className="badge warn">{state.outstandingCompensations.length} compensation(s) outstanding</span>
        </p>
      ) : null}
    </div>
  );
}

const SWATCH: Record<string, string> = {
  event: "var(--kind-event)",
  command: "var(--kind-command)",
  compensation: "var(--kind-command)",
  started: "var(--kind-policy)",
  status: "var(--kind-policy)",
  received: "#b79be6",
  settled: "#b79be6",
  outcome: "#b79be6",
  "timer-set": "var(--kind-timer)",
  "timer-fired": "var(--kind-timer)",
  "timer-cancelled": "var(--kind-timer)",
  rejection: "#ffd9dc",
  discarded: "#ffd9dc",
  "step-failed": "#ffd9dc",
  "step-timed-out": "#ffe9c2",
  record: "var(--panel-2)",
};

function MessageLog({ messages, origin, cursorIndex, selectedPosition, onSelect }: { messages: TimelineMessage[]; origin: number; cursorIndex: number | null; selectedPosition: number | null; onSelect: (message: TimelineMessage) => void }) {
  const byKey = new Map<string, TimelineMessage>();
  return (
    <div className="runs-log">
      <table className="table" data-testid="message-log">
        <thead>
          <tr>
            <th>#</th>
            <th>Time</th>
            <th>Lane</th>
            <th>Kind</th>
            <th>Message</th>
            <th>Caused by</th>
          </tr>
        </thead>
        <tbody>
          {messages.map((message, index) => {
            const cause = message.causeKey === null ? undefined : byKey.get(message.causeKey);
            for (const key of message.keys) if (!byKey.has(key)) byKey.set(key, message);
            return (
              <tr
                key={message.position}
                className={cursorIndex !== null && index > cursorIndex ? "is-future" : undefined}
                aria-selected={message.position === selectedPosition}
                tabIndex={0}
                onClick={() => onSelect(message)}
                onKeyDown={(event) => {
                  if (event.key === "Enter" || event.key === " ") {
                    event.preventDefault();
                    onSelect(message);
                  }
                }}
                data-testid="message-log-row"
                data-message-id={message.id}
              >
                <td className="muted">{message.position}</td>
                <td title={formatClock(message.time)}>+{formatDuration(message.time - origin)}</td>
                <td>{message.lane.name}</td>
                <td className="muted">
                  <span className="runs-kind-swatch" style={{ background: SWATCH[message.kind] }} aria-hidden />
                  {KIND_LABELS[message.kind]}
                </td>
                <td>
                  <strong>{message.title}</strong>
                </td>
                <td className="muted">{cause ? `${cause.title} (+${formatDuration(message.time - cause.time)})` : ""}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
