"use client";

export type SaveState = { kind: "saved"; at?: Date } | { kind: "unsaved" } | { kind: "saving" } | { kind: "error"; message: string } | { kind: "conflict" };

function describe(state: SaveState): { text: string; tone: string } {
  switch (state.kind) {
    case "saved":
      return { text: "All changes saved", tone: "ok" };
    case "unsaved":
      return { text: "Unsaved changes", tone: "" };
    case "saving":
      return { text: "Saving…", tone: "" };
    case "error":
      return { text: `Not saved: ${state.message}`, tone: "danger" };
    case "conflict":
      return { text: "Not saved: changed elsewhere", tone: "warn" };
    default: {
      const unreachable: never = state;
      return unreachable;
    }
  }
}

export function SaveStatus({ state }: { state: SaveState }) {
  const { text, tone } = describe(state);
  return (
    <div role="status" aria-live="polite" className={`save-status badge ${tone}`} data-testid="save-status" data-state={state.kind} title={text}>
      <span className="save-dot" aria-hidden />
      {text}
    </div>
  );
}
