"use client";

import { memo, useEffect, useRef } from "react";
import { formatClock, formatDuration } from "./format.ts";
import { LANE_HEIGHT, type PlacedMessage, type TimelineLayout } from "./timeline-layout.ts";
import { statusTone, type MessageKind, type TimelineMessage } from "./timeline-model.ts";

export const KIND_LABELS: Record<MessageKind, string> = {
  event: "Event",
  command: "Command",
  compensation: "Compensation",
  rejection: "Rejection",
  discarded: "Discarded",
  "step-failed": "Failure",
  "step-timed-out": "Timeout",
  "timer-set": "Timer",
  "timer-fired": "Timer",
  "timer-cancelled": "Timer",
  started: "Started",
  status: "Status",
  received: "Received",
  settled: "Step settled",
  outcome: "Outcome",
  record: "Record",
};

/** What a delivery still waiting in the outbox adds to its card: retries so far, or parked. */
export interface DeliveryFlag {
  tone: "info" | "warn" | "danger";
  text: string;
  title: string;
}

interface TimelineCanvasProps {
  layout: TimelineLayout;
  /** Time of the first message: cards show the time since it. */
  origin: number;
  cursorPosition: number | null;
  selectedPosition: number | null;
  flags: ReadonlyMap<string, DeliveryFlag>;
  follow: boolean;
  onSelect: (message: TimelineMessage) => void;
}

function accessibleName(message: TimelineMessage, origin: number): string {
  const parts = [`${KIND_LABELS[message.kind]} ${message.title}`, `in ${message.lane.name}`, `at +${formatDuration(message.time - origin)}`];
  if (message.detail) parts.push(message.detail);
  return parts.join(", ");
}

function MessageCard({ item, origin, future, selected, flag, onSelect }: { item: PlacedMessage; origin: number; future: boolean; selected: boolean; flag: DeliveryFlag | undefined; onSelect: (message: TimelineMessage) => void }) {
  const { message, shape } = item;
  const classes = ["runs-msg", `is-${shape}`];
  if (future) classes.push("is-future");
  if (selected) classes.push("is-selected");
  return (
    <button
      type="button"
      className={classes.join(" ")}
      style={{ left: item.x, top: item.y, width: item.width, height: item.height }}
      data-kind={message.kind}
      data-lane-kind={message.lane.kind}
      data-tone={shape === "pill" ? statusTone(message.kind === "started" ? "running" : message.title) : undefined}
      data-testid="timeline-message"
      data-message-id={message.id}
      data-position={message.position}
      aria-label={accessibleName(message, origin)}
      aria-pressed={selected}
      title={`${message.title}${message.detail ? ` — ${message.detail}` : ""}\n${formatClock(message.time)} (+${formatDuration(message.time - origin)})`}
      onClick={() => onSelect(message)}
    >
      {shape === "card" ? (
        <>
          <span className="runs-msg-kind">
            {KIND_LABELS[message.kind]}
            <span className="runs-msg-time">+{formatDuration(message.time - origin)}</span>
          </span>
          <span className="runs-msg-title">{message.title}</span>
          <span className="runs-msg-detail">{message.detail ?? "\u00a0"}</span>
          {flag ? (
            <span className="runs-msg-flag" data-tone={flag.tone} title={flag.title} data-testid="delivery-flag">
              {flag.text}
            </span>
          ) : null}
        </>
      ) : shape === "pill" ? (
        <>
          <span className="runs-status-dot" aria-hidden />
          {message.kind === "started" ? "started" : message.title}
        </>
      ) : null}
    </button>
  );
}

const MemoCard = memo(MessageCard);

export function TimelineCanvas({ layout, origin, cursorPosition, selectedPosition, flags, follow, onSelect }: TimelineCanvasProps) {
  const scroller = useRef<HTMLDivElement>(null);
  const cursorItem = cursorPosition === null ? null : layout.items.find((item) => item.message.position === cursorPosition);
  const focusPosition = selectedPosition ?? null;
  const related = new Set<number>();
  if (focusPosition !== null) {
    for (const link of layout.links) {
      if (link.from.message.position === focusPosition || link.to.message.position === focusPosition) {
        related.add(link.from.message.position);
        related.add(link.to.message.position);
      }
    }
  }

  // Following live: keep the newest message in view as the timeline grows.
  useEffect(() => {
    const element = scroller.current;
    if (follow && element) element.scrollLeft = element.scrollWidth;
  }, [follow, layout.width]);

  // Keep the cursor's message in view when the slider moves it.
  useEffect(() => {
    const element = scroller.current;
    if (!element || !cursorItem || follow) return;
    const labelWidth = 176;
    const left = cursorItem.x + labelWidth;
    if (left < element.scrollLeft + labelWidth || left + cursorItem.width > element.scrollLeft + element.clientWidth) {
      element.scrollTo({ left: Math.max(0, left - element.clientWidth / 2), behavior: "smooth" });
    }
  }, [cursorItem, follow]);

  return (
    <div className="runs-timeline-scroller" ref={scroller} data-testid="timeline">
      <div className="runs-timeline-grid">
        <div className="runs-lane-labels">
          {layout.lanes.map((lane) => (
            <div key={lane.key} className="runs-lane-label" style={{ height: LANE_HEIGHT }} data-kind={lane.kind} data-testid="timeline-lane">
              <small>{lane.kind === "process" ? "Process manager" : lane.kind === "context" ? "Context" : "System"}</small>
              <strong title={lane.name}>{lane.name}</strong>
            </div>
          ))}
        </div>
        <div className="runs-canvas" style={{ minWidth: layout.width, height: layout.height }}>
          {layout.lanes.map((lane) => (
            <div key={lane.key} className="runs-lane-band" data-kind={lane.kind} style={{ top: lane.y, height: lane.height }} />
          ))}
          {cursorItem && cursorPosition !== null ? <div className="runs-cursor" style={{ left: cursorItem.x + cursorItem.width + 5, height: layout.height }} data-testid="timeline-cursor" /> : null}
          <svg className="runs-links" width={layout.width} height={layout.height} aria-hidden>
            <defs>
              {(["handled", "reacted", "follows"] as const).map((kind) => (
                <marker key={kind} id={`runs-arrow-${kind}`} viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
                  <path d="M 0 0 L 10 5 L 0 10 z" fill={kind === "handled" ? "#3f6fd8" : kind === "reacted" ? "#9b6ad8" : "#8792a6"} />
                </marker>
              ))}
            </defs>
            {layout.links.map((link) => {
              const hot = focusPosition !== null && related.has(link.from.message.position) && related.has(link.to.message.position);
              const dim = (focusPosition !== null && !hot) || (cursorPosition !== null && link.to.message.position > cursorPosition);
              return (
                <g key={`${link.from.message.position}-${link.to.message.position}`} data-testid="causation-link" data-from={link.from.message.id} data-to={link.to.message.id}>
                  <path d={link.path} className={`runs-link${dim ? " is-dim" : ""}${hot ? " is-hot" : ""}`} data-kind={link.kind} markerEnd={`url(#runs-arrow-${link.kind})`} />
                  {link.kind !== "follows" || hot ? (
                    <text x={link.labelX} y={link.labelY} textAnchor="middle" className={`runs-link-label${dim ? " is-dim" : ""}`}>
                      {formatDuration(link.durationMs)}
                    </text>
                  ) : null}
                </g>
              );
            })}
          </svg>
          {layout.items.map((item) => (
            <MemoCard
              key={item.message.position}
              item={item}
              origin={origin}
              future={cursorPosition !== null && item.message.position > cursorPosition}
              selected={item.message.position === selectedPosition}
              flag={item.message.keys.map((key) => flags.get(key)).find((found) => found !== undefined)}
              onSelect={onSelect}
            />
          ))}
        </div>
      </div>
    </div>
  );
}
