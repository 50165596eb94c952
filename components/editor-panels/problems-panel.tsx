"use client";

import type { Diagnostic, Severity } from "@/server/compiler/diagnostics.ts";

const severityIcon: Record<Severity, string> = { error: "✖", warning: "▲", info: "ℹ" };
const severityLabel: Record<Severity, string> = { error: "Error", warning: "Warning", info: "Note" };

export function ProblemsPanel({ diagnostics, checking, onPick }: { diagnostics: readonly Diagnostic[] | null; checking: boolean; onPick: (diagnostic: Diagnostic) => void }) {
  if (diagnostics === null) return <p className="muted ep-panel-pad" role="status">Checking the board…</p>;
  const errors = diagnostics.filter((item) => item.severity === "error").length;
  const warnings = diagnostics.filter((item) => item.severity === "warning").length;
  return (
    <div className="problems" data-testid="problems-panel">
      <p className="ep-panel-summary" role="status">
        {errors === 0 && warnings === 0 ? "No problems: the board can be published." : `${errors} error${errors === 1 ? "" : "s"}, ${warnings} warning${warnings === 1 ? "" : "s"}`}
        {checking ? <span className="muted"> · checking…</span> : null}
      </p>
      <ul className="ep-problems-list" aria-label="Problems">
        {diagnostics.map((item, index) => {
          const target = item.nodeId ?? item.edgeId;
          return (
            <li key={`${item.code}-${target ?? ""}-${index}`}>
              <button type="button" className={`ep-problem ep-problem-${item.severity}`} disabled={!target} onClick={() => onPick(item)} aria-label={`${severityLabel[item.severity]} ${item.code}: ${item.message}`}>
                <span className="ep-problem-icon" aria-hidden>
                  {severityIcon[item.severity]}
                </span>
                <span className="ep-problem-body">
                  <span className="ep-problem-head">
                    <span className="ep-problem-code mono">{item.code}</span> {item.message}
                  </span>
                  {item.hint ? <span className="ep-problem-hint">{item.hint}</span> : null}
                </span>
              </button>
            </li>
          );
        })}
      </ul>
    </div>
  );
}
