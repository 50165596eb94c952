"use client";

import { BaseEdge, getBezierPath, type EdgeProps, type EdgeTypes } from "@xyflow/react";
import { memo } from "react";
import type { EdgeMeaning } from "@/server/board/connections.ts";
import type { FlowEdge } from "./model/flow-types.ts";

export const meaningLabel: Record<EdgeMeaning, string> = {
  handles: "handled by",
  emits: "emits",
  triggers: "triggers",
  issues: "issues",
  projects: "projected into",
  schedules: "starts",
  fires: "fires",
  invokes: "invokes",
  delivers: "delivered to",
  receives: "receives",
};

/**
 * An edge that says what it means. The label is SVG text inside the edge's own group, so CSS
 * shows it on hover or selection without a React render per edge.
 */
export const MeaningEdge = memo(function MeaningEdge(props: EdgeProps<FlowEdge>) {
  const { id, sourceX, sourceY, targetX, targetY, sourcePosition, targetPosition, data, markerEnd, style } = props;
  const [path, labelX, labelY] = getBezierPath({ sourceX, sourceY, sourcePosition, targetX, targetY, targetPosition });
  const label = data ? meaningLabel[data.meaning] : "";
  return (
    <>
      <BaseEdge id={id} path={path} markerEnd={markerEnd ?? "url(#sagaboard-arrow)"} style={style} interactionWidth={16} />
      {label ? (
        <text className="edge-label" x={labelX} y={labelY} textAnchor="middle" dominantBaseline="central" data-testid="edge-label">
          {label}
        </text>
      ) : null}
    </>
  );
});

export const edgeTypes = { meaning: MeaningEdge } satisfies EdgeTypes;
