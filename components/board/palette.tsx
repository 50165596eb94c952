"use client";

import { memo } from "react";
import type { NodeKind } from "@/server/board/document.ts";
import { kindTitle, paletteKinds } from "./model/defaults.ts";

export const PALETTE_MIME = "application/x-sagaboard-kind";

const blurbs: Record<NodeKind, string> = {
  context: "A bounded context: a container for its elements",
  actor: "A person or system that issues commands",
  command: "A request to do something",
  aggregate: "Handles commands, emits events",
  event: "A fact: something that happened",
  policy: "Whenever an event happens, issue a command",
  readModel: "A view built from events",
  externalSystem: "Outside the process: a webhook, Redis or NATS",
  timer: "Fires after a delay",
};

/** Drag an element onto the canvas, or click it to add it in the middle of the view. */
export const Palette = memo(function Palette({ onAdd }: { onAdd: (kind: NodeKind) => void }) {
  return (
    <nav className="palette" aria-label="Elements">
      {paletteKinds.map((kind) => (
        <button
          key={kind}
          type="button"
          className={`palette-item palette-${kind}`}
          aria-label={`Add ${kindTitle(kind).toLowerCase()}`}
          title={`${kindTitle(kind)}: ${blurbs[kind]}`}
          draggable
          data-testid={`palette-${kind}`}
          onDragStart={(event) => {
            event.dataTransfer.setData(PALETTE_MIME, kind);
            event.dataTransfer.effectAllowed = "copy";
          }}
          onClick={() => onAdd(kind)}
        >
          <span className={`palette-swatch swatch-${kind}`} aria-hidden />
          <span className="palette-label">{kindTitle(kind)}</span>
        </button>
      ))}
    </nav>
  );
});
