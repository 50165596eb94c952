"use client";

import { useEffect, useRef, useState } from "react";
import type { RouterOutputs } from "@/server/api/root.ts";
import { objectOf } from "./cloud-events.ts";
import { formatClock, formatDateTime, formatDuration } from "./format.ts";
import { JsonView } from "./runs-ui.tsx";
import { KIND_LABELS } from "./timeline-canvas.tsx";
import { payloadOf, type TimelineMessage } from "./timeline-model.ts";

type PendingMessage = RouterOutputs["runtime"]["instance"]["pending"][number];
type PanelTab = "payload" | "metadata" | "cloudevent";

const TAB_LABELS: Record<PanelTab, string> = { payload: "Payload", metadata: "Metadata", cloudevent: "Raw CloudEvent" };

export function MessagePanel({
  message,
  messages,
  origin,
  pending,
  onSelect,
  onClose,
}: {
  message: TimelineMessage;
  messages: readonly TimelineMessage[];
  origin: number;
  /** Outbox rows of this message still waiting (retries, parked). */
  pending: readonly PendingMessage[];
  onSelect: (message: TimelineMessage) => void;
  onClose: () => void;
}) {
  const [tab, setTab] = useState<PanelTab>("payload");
  const closeButton = useRef<HTMLButtonElement>(null);
  const { event } = message;

  useEffect(() => {
    closeButton.current?.focus({ preventScroll: true });
  }, []);
  useEffect(() => {
    const onKey = (keyEvent: KeyboardEvent) => {
      if (keyEvent.key === "Escape" && !document.querySelector("dialog[open]")) onClose();
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [onClose]);

  const index = messages.findIndex((candidate) => candidate.position === message.position);
  const cause = message.causeKey === null ? undefined : messages.slice(0, index).find((candidate) => candidate.keys.includes(message.causeKey!));
  const effects = messages.slice(index + 1).filter((candidate) => candidate.causeKey !== null && message.keys.includes(candidate.causeKey));
  const data = objectOf(event.data);
  const commandFacts = message.kind === "command" || message.kind === "compensation" ? data : null;

  return (
    <aside className="runs-panel" aria-labelledby="message-panel-title" data-testid="message-panel" role="dialog" aria-modal="false">
      <div className="runs-panel-head">
        <div className="runs-panel-head-row">
          <span className="runs-msg-kind" style={{ opacity: 1, color: "var(--muted)" }}>
            {KIND_LABELS[message.kind]} · {message.lane.name}
          </span>
          <button type="button" className="runs-panel-close" onClick={onClose} aria-label="Close message details" ref={closeButton}>
            ×
          </button>
        </div>
        <h2 id="message-panel-title" data-testid="message-panel-title">
          {message.title}
        </h2>
        {message.detail ? <div className="muted">{message.detail}</div> : null}
        <div className="muted" style={{ fontSize: 12.5 }}>
          {formatClock(message.time)} · +{formatDuration(message.time - origin)} after the first message · position {message.position}
        </div>
      </div>
      <div className="runs-panel-tabs" role="tablist" aria-label="Message details">
        {(Object.keys(TAB_LABELS) as PanelTab[]).map((candidate) => (
          <button
            key={candidate}
            type="button"
            role="tab"
            id={`message-tab-${candidate}`}
            aria-selected={tab === candidate}
            aria-controls="message-tab-panel"
            className="runs-panel-tab"
            onClick={() => setTab(candidate)}
            data-testid={`message-tab-${candidate}`}
          >
            {TAB_LABELS[candidate]}
          </button>
        ))}
      </div>
      <div className="runs-panel-body" role="tabpanel" id="message-tab-panel" aria-labelledby={`message-tab-${tab}`}>
        {tab === "payload" ? <JsonView value={payloadOf(message)} label="Payload" testId="message-payload" /> : null}
        {tab === "metadata" ? (
          <>
            <dl className="runs-kv" data-testid="message-metadata">
              <dt>Message id</dt>
              <dd className="runs-mono">{event.id}</dd>
              <dt>Type</dt>
              <dd>{event.type}</dd>
              <dt>Source</dt>
              <dd className="runs-mono">{event.source}</dd>
              <dt>Stream</dt>
              <dd className="runs-mono">
                {event.stream} · version {event.streamversion}
              </dd>
              <dt>Position</dt>
              <dd>{event.position}</dd>
              <dt>Recorded</dt>
              <dd>{formatDateTime(Date.parse(event.time))}</dd>
              <dt>Correlation id</dt>
              <dd className="runs-mono">{event.correlationid ?? "—"}</dd>
              <dt>Causation id</dt>
              <dd className="runs-mono">{event.causationid ?? "—"}</dd>
              <dt>Definition</dt>
              <dd className="runs-mono">
                {event.definitionid ?? "—"}
                {event.definitionversion !== undefined ? ` · v${event.definitionversion}` : ""}
              </dd>
              {commandFacts ? (
                <>
                  <dt>Command id</dt>
                  <dd className="runs-mono">{String(commandFacts.messageId)}</dd>
                  <dt>Handler</dt>
                  <dd>{String(objectOf(commandFacts.handler).name ?? "—")} ({String(objectOf(commandFacts.handler).kind ?? "?")})</dd>
                  <dt>Expects</dt>
                  <dd>{Array.isArray(commandFacts.expects) && commandFacts.expects.length > 0 ? commandFacts.expects.map((ref) => String(objectOf(ref).name)).join(", ") : "no answer"}</dd>
                  <dt>Retry policy</dt>
                  <dd>
                    {(() => {
                      const retry = objectOf(commandFacts.retry);
                      return `${String(retry.maxAttempts)} attempts, ${String(retry.initialDelayMs)} ms × ${String(retry.multiplier)} up to ${String(retry.maxDelayMs)} ms`;
                    })()}
                  </dd>
                </>
              ) : null}
            </dl>
            {pending.map((delivery) => (
              <div key={delivery.id} className="card" style={{ boxShadow: "none", padding: 12 }} data-testid="message-delivery">
                <strong>{delivery.status === "parked" ? "Parked as a dead letter" : delivery.attempts > 0 ? `Retrying: ${delivery.attempts} failed attempts` : "Queued for delivery"}</strong>
                <div className="muted" style={{ fontSize: 12.5 }}>
                  queued {formatClock(delivery.createdAt)}
                  {delivery.parkedAt ? ` · parked ${formatClock(delivery.parkedAt)}` : ` · next try ${formatClock(delivery.availableAt)}`}
                </div>
                {delivery.lastError ? <pre className="runs-mini-error" style={{ margin: "6px 0 0" }}>{delivery.lastError}</pre> : null}
              </div>
            ))}
          </>
        ) : null}
        {tab === "cloudevent" ? <JsonView value={event} label="Raw CloudEvent" testId="message-cloudevent" /> : null}

        <div className="runs-panel-links">
          <div className="muted" style={{ fontSize: 12, fontWeight: 600 }}>
            CAUSED BY
          </div>
          {cause ? (
            <button type="button" className="button" onClick={() => onSelect(cause)} data-testid="panel-cause">
              ← {KIND_LABELS[cause.kind]} {cause.title} · {formatDuration(message.time - cause.time)} earlier
            </button>
          ) : (
            <span className="muted">{event.causationid && event.causationid !== event.id ? "a message outside this correlation's log" : "nothing: it started the flow"}</span>
          )}
          <div className="muted" style={{ fontSize: 12, fontWeight: 600, marginTop: 6 }}>
            CAUSED
          </div>
          {effects.length === 0 ? <span className="muted">nothing yet</span> : null}
          {effects.map((effect) => (
            <button key={effect.position} type="button" className="button" onClick={() => onSelect(effect)}>
              → {KIND_LABELS[effect.kind]} {effect.title} · {formatDuration(effect.time - message.time)} later
            </button>
          ))}
        </div>
      </div>
    </aside>
  );
}
