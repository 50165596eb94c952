"use client";

import { Handle, NodeResizer, Position, type NodeProps, type NodeTypes } from "@xyflow/react";
import { memo, type ReactNode } from "react";
import type { NodeKind } from "@/server/board/document.ts";
import { ContextStateControl, NodeBadges } from "@/components/editor-panels/node-overlay.tsx";
import { kindTitle } from "./model/defaults.ts";
import type { FlowNodeOf } from "./model/flow-types.ts";

/** Which ends a kind can be connected at: causality flows in on the left and out on the right. */
const handlesOf: Record<Exclude<NodeKind, "context">, { target: boolean; source: boolean }> = {
  command: { target: true, source: true },
  event: { target: true, source: true },
  aggregate: { target: true, source: true },
  policy: { target: true, source: true },
  readModel: { target: true, source: false },
  externalSystem: { target: true, source: true },
  timer: { target: true, source: true },
  actor: { target: false, source: true },
};

function formatDuration(ms: number): string {
  if (ms % 86_400_000 === 0) return `${ms / 86_400_000} d`;
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000} h`;
  if (ms % 60_000 === 0) return `${ms / 60_000} min`;
  if (ms % 1000 === 0) return `${ms / 1000} s`;
  return `${ms} ms`;
}

const count = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** Long CamelCase names (ApplicationSubmitted) may wrap between their words, not mid-word. */
function Breakable({ text }: { text: string }) {
  const parts = text.split(/(?<=[a-z0-9])(?=[A-Z])/);
  return (
    <>
      {parts.map((part, index) => (
        <span key={index}>
          {index > 0 ? <wbr /> : null}
          {part}
        </span>
      ))}
    </>
  );
}

function Sticky({ kind, id, name, selected, detail }: { kind: Exclude<NodeKind, "context">; id: string; name: string; selected: boolean; detail?: ReactNode }) {
  const handles = handlesOf[kind];
  return (
    <div className={`sticky sticky-${kind}${selected ? " is-selected" : ""}`} data-testid={`node-${kind}`} data-node-id={id}>
      {handles.target ? <Handle type="target" position={Position.Left} className="sticky-handle" /> : null}
      <div className="sticky-kind">{kindTitle(kind)}</div>
      <div className="sticky-name" title={name}>
        <Breakable text={name} />
      </div>
      {detail ? <div className="sticky-detail">{detail}</div> : null}
      {handles.source ? <Handle type="source" position={Position.Right} className="sticky-handle" /> : null}
      {/* Problem badges and live counters (editor panels). */}
      <NodeBadges id={id} />
    </div>
  );
}

export const CommandNode = memo(function CommandNode({ id, data, selected }: NodeProps<FlowNodeOf<"command">>) {
  const fields = Object.keys(data.schema.properties).length;
  return <Sticky kind="command" id={id} name={data.name} selected={selected} detail={fields > 0 ? count(fields, "field") : null} />;
});

export const EventNode = memo(function EventNode({ id, data, selected }: NodeProps<FlowNodeOf<"event">>) {
  const fields = Object.keys(data.schema.properties).length;
  const tags = [data.lifecycle !== "none" ? data.lifecycle : null, data.visibility === "public" ? "public" : null, fields > 0 ? count(fields, "field") : null].filter(Boolean);
  return <Sticky kind="event" id={id} name={data.name} selected={selected} detail={tags.length > 0 ? tags.join(" · ") : null} />;
});

export const AggregateNode = memo(function AggregateNode({ id, data, selected }: NodeProps<FlowNodeOf<"aggregate">>) {
  const parts = [data.rules.length > 0 ? count(data.rules.length, "rule") : null, data.stateFields.length > 0 ? count(data.stateFields.length, "state field") : null].filter(Boolean);
  return <Sticky kind="aggregate" id={id} name={data.name} selected={selected} detail={parts.length > 0 ? parts.join(" · ") : null} />;
});

export const PolicyNode = memo(function PolicyNode({ id, data, selected }: NodeProps<FlowNodeOf<"policy">>) {
  const parts = [data.condition ? "conditional" : null, data.deadline ? `deadline ${formatDuration(data.deadline.afterMs)}` : null, data.retry ? "retries" : null].filter(Boolean);
  return <Sticky kind="policy" id={id} name={data.name} selected={selected} detail={parts.length > 0 ? parts.join(" · ") : null} />;
});

export const ReadModelNode = memo(function ReadModelNode({ id, data, selected }: NodeProps<FlowNodeOf<"readModel">>) {
  return <Sticky kind="readModel" id={id} name={data.name} selected={selected} detail={data.fields.length > 0 ? count(data.fields.length, "field") : null} />;
});

const bindingLabel = { none: null, webhook: "HTTP webhook", redis: "Redis", nats: "NATS" } as const;
export const ExternalSystemNode = memo(function ExternalSystemNode({ id, data, selected }: NodeProps<FlowNodeOf<"externalSystem">>) {
  return <Sticky kind="externalSystem" id={id} name={data.name} selected={selected} detail={bindingLabel[data.binding.kind]} />;
});

export const TimerNode = memo(function TimerNode({ id, data, selected }: NodeProps<FlowNodeOf<"timer">>) {
  return <Sticky kind="timer" id={id} name={data.name} selected={selected} detail={`after ${formatDuration(data.afterMs)}`} />;
});

export const ActorNode = memo(function ActorNode({ id, data, selected }: NodeProps<FlowNodeOf<"actor">>) {
  return <Sticky kind="actor" id={id} name={data.name} selected={selected} />;
});

export const ContextNode = memo(function ContextNode({ id, data, selected }: NodeProps<FlowNodeOf<"context">>) {
  return (
    <div className={`context-node${selected ? " is-selected" : ""}`} data-testid="node-context" data-node-id={id} style={data.color ? { borderColor: data.color } : undefined}>
      <NodeResizer isVisible={selected} minWidth={200} minHeight={120} lineClassName="context-resize-line" handleClassName="context-resize-handle" />
      <div className="context-header" style={data.color ? { background: `${data.color}22` } : undefined}>
        <span className="context-kind">Context</span>
        <span className="context-name" title={data.name}>
          {data.name}
        </span>
        {/* Live fault state (editor panels). */}
        <ContextStateControl id={id} name={data.name} />
      </div>
      <NodeBadges id={id} />
    </div>
  );
});

/** Defined once at module level: React Flow re-mounts every node when this object changes. */
export const nodeTypes = {
  context: ContextNode,
  command: CommandNode,
  event: EventNode,
  aggregate: AggregateNode,
  policy: PolicyNode,
  readModel: ReadModelNode,
  externalSystem: ExternalSystemNode,
  timer: TimerNode,
  actor: ActorNode,
} satisfies NodeTypes;

export { formatDuration };
