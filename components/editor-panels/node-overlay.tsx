"use client";

import Link from "next/link";
import { memo } from "react";
import type { ContextState } from "./live-map.ts";
import { useNodeOverlay } from "./overlay-store.ts";

/** Problem badge and live counters on a node; renders nothing when there is nothing to say. */
export const NodeBadges = memo(function NodeBadges({ id }: { id: string }) {
  const { problems, counter } = useNodeOverlay(id);
  const trouble = counter ? counter.failed + counter.parked + counter.stuck : 0;
  if (!problems && !counter) return null;
  return (
    <>
      {problems ? (
        <span className={`ep-node-problem-badge ${problems.errors > 0 ? "ep-is-error" : "ep-is-warning"}`} title={problems.summary} role="img" aria-label={`${problems.errors} errors, ${problems.warnings} warnings`}>
          {problems.errors + problems.warnings}
        </span>
      ) : null}
      {counter ? (
        <span className="ep-node-counters nodrag" data-testid="node-counters">
          <span title="Handled">✓ {counter.handled}</span>
          {counter.failed > 0 ? <span title="Failed">✗ {counter.failed}</span> : null}
          {counter.parked > 0 ? <span title="Parked in the dead-letter queue">⏸ {counter.parked}</span> : null}
          {counter.stuck > 0 ? <span title="Waiting for instances that are stuck">⌛ {counter.stuck}</span> : null}
        </span>
      ) : null}
      {trouble > 0 ? (
        <Link className="ep-node-trouble-badge nodrag" href="/runs/dead-letters" title="Failed, parked or stuck: open the dead-letter queue" aria-label={`${trouble} failed, parked or stuck: open dead letters`}>
          !
        </Link>
      ) : null}
    </>
  );
});

const states: ContextState[] = ["up", "slow", "failing", "down"];

/** The context's fault state and a control to change it (the runtime's fault injection). */
export const ContextStateControl = memo(function ContextStateControl({ id, name }: { id: string; name: string }) {
  const { context } = useNodeOverlay(id);
  if (!context) return null;
  return (
    <select
      className={`ep-context-state nodrag ep-state-${context.state}`}
      aria-label={`State of ${name}`}
      value={context.state}
      onChange={(event) => context.onChange(event.target.value as ContextState)}
      onPointerDown={(event) => event.stopPropagation()}
    >
      {states.map((state) => (
        <option key={state} value={state}>
          {state === "up" ? "● up" : state === "slow" ? "◔ slow" : state === "failing" ? "◑ failing" : "○ down"}
        </option>
      ))}
    </select>
  );
});
