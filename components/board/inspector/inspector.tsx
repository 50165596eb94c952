"use client";

import { memo } from "react";
import { kindLabel } from "@/server/board/connections.ts";
import type { NodeData, NodeKind } from "@/server/board/document.ts";
import { meaningLabel } from "../edges.tsx";
import { kindTitle } from "../model/defaults.ts";
import type { FlowEdgeData } from "../model/flow-types.ts";
import { ofKind, type Catalog } from "./catalog.ts";
import { DraftText, DurationField, Section, SelectField } from "./fields.tsx";
import { AggregateSections, ExternalSystemSections, PolicySections, ReadModelSections, type Update } from "./kind-sections.tsx";
import { PayloadEditor } from "./payload-editor.tsx";

export type InspectorSelection =
  | { kind: "none" }
  | { kind: "node"; id: string; type: NodeKind; data: NodeData<NodeKind>; parentId?: string }
  | { kind: "edge"; id: string; source: string; target: string; data?: FlowEdgeData }
  | { kind: "many"; nodes: number; edges: number };

export interface InspectorActions {
  updateData: (id: string, kind: NodeKind, update: (data: NodeData<NodeKind>) => NodeData<NodeKind>, historyKey?: string) => void;
  setContext: (id: string, contextId: string | undefined) => void;
  deleteSelection: () => void;
}

const nameProblem = (name: string) => (name.trim() === "" ? "a name is needed" : name.length > 120 ? "at most 120 characters" : undefined);

function KindSections({ id, type, data, catalog, update }: { id: string; type: NodeKind; data: NodeData<NodeKind>; catalog: Catalog; update: Update<NodeData<NodeKind>> }) {
  switch (type) {
    case "command":
      return (
        <Section title="Payload">
          <PayloadEditor schema={(data as NodeData<"command">).schema} onChange={(schema, key) => update((current) => ({ ...current, schema }), key)} />
        </Section>
      );
    case "event": {
      const event = data as NodeData<"event">;
      const updateEvent = update as unknown as Update<NodeData<"event">>;
      return (
        <>
          <Section title="Payload">
            <PayloadEditor schema={event.schema} onChange={(schema, key) => updateEvent((current) => ({ ...current, schema }), key)} />
          </Section>
          <Section title="Role">
            <SelectField
              label="Visibility"
              value={event.visibility}
              options={[
                { value: "internal", label: "Internal to its context" },
                { value: "public", label: "Public (published language)" },
              ]}
              onChange={(visibility: "internal" | "public") => updateEvent((current) => ({ ...current, visibility }))}
            />
            <SelectField
              label="Process lifecycle"
              value={event.lifecycle}
              options={[
                { value: "none", label: "A step" },
                { value: "start", label: "Starts the process" },
                { value: "complete", label: "Completes the process" },
                { value: "fail", label: "Fails the process" },
              ]}
              onChange={(lifecycle: "none" | "start" | "complete" | "fail") => updateEvent((current) => ({ ...current, lifecycle }))}
            />
          </Section>
        </>
      );
    }
    case "aggregate":
      return <AggregateSections id={id} data={data as NodeData<"aggregate">} catalog={catalog} update={update as unknown as Update<NodeData<"aggregate">>} />;
    case "policy":
      return <PolicySections id={id} data={data as NodeData<"policy">} catalog={catalog} update={update as unknown as Update<NodeData<"policy">>} />;
    case "readModel":
      return <ReadModelSections id={id} data={data as NodeData<"readModel">} catalog={catalog} update={update as unknown as Update<NodeData<"readModel">>} />;
    case "externalSystem":
      return <ExternalSystemSections id={id} data={data as NodeData<"externalSystem">} catalog={catalog} update={update as unknown as Update<NodeData<"externalSystem">>} />;
    case "timer": {
      const timer = data as NodeData<"timer">;
      return (
        <Section title="Timing">
          <DurationField label="Fires after" value={timer.afterMs} onChange={(afterMs) => (update as unknown as Update<NodeData<"timer">>)((current) => ({ ...current, afterMs }), "afterMs")} />
        </Section>
      );
    }
    case "context": {
      const context = data as NodeData<"context">;
      const members = catalog.entries.filter((entry) => entry.parentId === id);
      return (
        <Section title="Context">
          <div className="field">
            <label className="field-label" htmlFor={`${id}-color`}>
              Colour
            </label>
            <input
              id={`${id}-color`}
              type="color"
              className="color-input"
              value={context.color ?? "#94a3b8"}
              onChange={(event) => (update as unknown as Update<NodeData<"context">>)((current) => ({ ...current, color: event.target.value }), "color")}
            />
          </div>
          <p className="muted small">{members.length === 0 ? "Drag elements into this context to make them its members." : `${members.length} member${members.length === 1 ? "" : "s"}: ${members.map((member) => member.name).join(", ")}`}</p>
        </Section>
      );
    }
    case "actor":
      return null;
    default: {
      const unreachable: never = type;
      return unreachable;
    }
  }
}

function BoardSummary({ catalog }: { catalog: Catalog }) {
  if (catalog.entries.length === 0) {
    return (
      <div className="inspector-empty">
        <h2>An empty board</h2>
        <p>Drag elements from the palette onto the canvas, or click one to add it.</p>
        <ol className="hint-list">
          <li>Draw a <strong>context</strong> for each part of the business.</li>
          <li>An <strong>actor</strong> or a <strong>policy</strong> issues a <strong>command</strong>.</li>
          <li>An <strong>aggregate</strong> handles it and emits <strong>events</strong>.</li>
          <li>Connect right-hand handles to left-hand handles: causality flows left to right.</li>
        </ol>
        <p className="muted small">Press ? for keyboard shortcuts.</p>
      </div>
    );
  }
  const counts = new Map<NodeKind, number>();
  for (const entry of catalog.entries) counts.set(entry.type, (counts.get(entry.type) ?? 0) + 1);
  return (
    <div className="inspector-empty">
      <h2>Board</h2>
      <dl className="facts">
        {[...counts].map(([kind, n]) => (
          <div key={kind} className="fact-row">
            <dt>
              <span className={`swatch swatch-${kind}`} aria-hidden /> {kindTitle(kind)}
            </dt>
            <dd>{n}</dd>
          </div>
        ))}
        <div className="fact-row">
          <dt>Connections</dt>
          <dd>{catalog.links.length}</dd>
        </div>
      </dl>
      <p className="muted small">Select an element to edit it.</p>
    </div>
  );
}

export const Inspector = memo(function Inspector({ selection, catalog, actions }: { selection: InspectorSelection; catalog: Catalog; actions: InspectorActions }) {
  switch (selection.kind) {
    case "none":
      return <BoardSummary catalog={catalog} />;
    case "many":
      return (
        <div className="inspector-empty">
          <h2>
            {selection.nodes} element{selection.nodes === 1 ? "" : "s"}
            {selection.edges > 0 ? ` and ${selection.edges} connection${selection.edges === 1 ? "" : "s"}` : ""} selected
          </h2>
          <p className="muted small">Copy, paste, delete or drag them together.</p>
          <button type="button" className="button danger" onClick={actions.deleteSelection}>
            Delete selection
          </button>
        </div>
      );
    case "edge": {
      const source = catalog.byId.get(selection.source);
      const target = catalog.byId.get(selection.target);
      return (
        <div className="inspector-body">
          <div className="inspector-title">
            <span className="badge">Connection</span>
          </div>
          <p data-testid="edge-meaning">
            {source ? `${kindTitle(source.type)} “${source.name}”` : "?"} {selection.data ? meaningLabel[selection.data.meaning] : "→"} {target ? `${kindLabel[target.type]} “${target.name}”` : "?"}
          </p>
          <button type="button" className="button danger" onClick={actions.deleteSelection}>
            Delete connection
          </button>
        </div>
      );
    }
    case "node": {
      const { id, type, data, parentId } = selection;
      const update: Update<NodeData<NodeKind>> = (change, key) => actions.updateData(id, type, change, key && `${id}:${key}`);
      const contexts = ofKind(catalog, "context");
      return (
        <div className="inspector-body" data-testid="inspector" data-node-id={id}>
          <div className="inspector-title">
            <span className={`swatch swatch-${type}`} aria-hidden />
            <span className="inspector-kind">{kindTitle(type)}</span>
          </div>
          <Section title="General">
            <DraftText label="Name" value={data.name} problem={nameProblem} onCommit={(name) => update((current) => ({ ...current, name }), "name")} testId="inspector-name" />
            <DraftText label="Description" value={data.description} multiline onCommit={(description) => update((current) => ({ ...current, description }), "description")} />
            {type === "context" ? null : (
              <SelectField
                label="Context"
                value={parentId ?? ""}
                options={[{ value: "", label: "None" }, ...contexts.map((context) => ({ value: context.id, label: context.name }))]}
                onChange={(contextId: string) => actions.setContext(id, contextId || undefined)}
              />
            )}
          </Section>
          <KindSections id={id} type={type} data={data} catalog={catalog} update={update} />
          <div className="inspector-footer">
            <button type="button" className="button danger" onClick={actions.deleteSelection}>
              Delete {kindLabel[type]}
            </button>
          </div>
        </div>
      );
    }
    default: {
      const unreachable: never = selection;
      return unreachable;
    }
  }
});
