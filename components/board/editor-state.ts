/**
 * The editor's state as one reducer: the graph React Flow draws, its undo history, and a change
 * counter that autosave watches. Continuous gestures (dragging, resizing) become one undo step,
 * recorded when the gesture ends.
 */
import { applyEdgeChanges, applyNodeChanges, type EdgeChange, type NodeChange } from "@xyflow/react";
import type { BoardGraph, FlowEdge, FlowNode } from "./model/flow-types.ts";
import { membershipAfterMove, orderParentsFirst, withoutSelection } from "./model/graph.ts";
import { emptyHistory, record, redo, undo, type History } from "./model/history.ts";

export interface EditorState {
  graph: BoardGraph;
  history: History<BoardGraph>;
  /** Counts changes to what is stored (not selection or measurement); autosave follows it. */
  version: number;
  /** The graph when the current drag or resize began. */
  gestureStart?: BoardGraph;
}

export type EditorAction =
  | { type: "load"; graph: BoardGraph }
  /** Replaces the graph as an undoable change (paste, layout, …). */
  | { type: "edit"; update: (graph: BoardGraph) => BoardGraph; key?: string; at: number }
  | { type: "nodesChanged"; changes: NodeChange<FlowNode>[]; at: number }
  | { type: "edgesChanged"; changes: EdgeChange<FlowEdge>[] }
  | { type: "select"; update: (graph: BoardGraph) => BoardGraph }
  | { type: "undo" }
  | { type: "redo" };

export const initialEditorState = (graph: BoardGraph): EditorState => ({ graph, history: emptyHistory(), version: 0 });

function changesStoredState(change: NodeChange<FlowNode>): boolean {
  switch (change.type) {
    case "position":
      return change.position !== undefined;
    case "dimensions":
      return Boolean(change.setAttributes);
    case "select":
      return false;
    case "remove":
    case "add":
    case "replace":
      return true;
    default: {
      const unreachable: never = change;
      return unreachable;
    }
  }
}

function movedIn(graph: BoardGraph, start: BoardGraph): boolean {
  return (
    graph.nodes.length !== start.nodes.length ||
    graph.nodes.some((node, index) => {
      const before = start.nodes[index];
      return !before || before.id !== node.id || before.position.x !== node.position.x || before.position.y !== node.position.y || before.width !== node.width || before.height !== node.height || before.parentId !== node.parentId;
    })
  );
}

/**
 * While a drag or resize goes on only the graph changes: nothing is recorded and the change
 * counter stays, so autosave and derived views do no work per frame. The gesture's end records
 * one undo step and counts as one change.
 */
function nodesChanged(state: EditorState, changes: NodeChange<FlowNode>[], at: number): EditorState {
  const nodes = applyNodeChanges(changes, state.graph.nodes);
  let graph: BoardGraph = { ...state.graph, nodes };
  const going = changes.some((change) => (change.type === "position" && change.dragging === true) || (change.type === "dimensions" && change.resizing === true));
  if (going) return { ...state, graph, gestureStart: state.gestureStart ?? state.graph };
  if (!changes.some(changesStoredState)) {
    const ended = changes.some((change) => (change.type === "position" && change.dragging === false) || (change.type === "dimensions" && change.resizing === false));
    if (!ended || !state.gestureStart) return { ...state, graph };
  }
  const start = state.gestureStart ?? state.graph;
  const moved = changes.flatMap((change) => (change.type === "position" ? [change.id] : []));
  if (moved.length > 0) graph = membershipAfterMove({ ...graph, nodes: orderParentsFirst(graph.nodes) }, moved);
  if (!movedIn(graph, start) && !changes.some((change) => change.type === "add" || change.type === "remove" || change.type === "replace")) {
    return { ...state, graph, gestureStart: undefined };
  }
  // A move without a gesture (arrow keys) coalesces like typing does.
  const history = record(state.history, withoutSelection(start), { at, key: state.gestureStart ? undefined : "nudge" });
  return { ...state, graph, history, version: state.version + 1, gestureStart: undefined };
}

export function editorReducer(state: EditorState, action: EditorAction): EditorState {
  switch (action.type) {
    case "load":
      return initialEditorState(action.graph);
    case "edit": {
      const graph = action.update(state.graph);
      if (graph === state.graph) return state;
      return { ...state, graph, history: record(state.history, withoutSelection(state.graph), { key: action.key, at: action.at }), version: state.version + 1 };
    }
    case "nodesChanged":
      return nodesChanged(state, action.changes, action.at);
    case "edgesChanged": {
      // Only selection reaches here: deletion goes through "edit" so that it can be undone.
      const selectionOnly = action.changes.filter((change) => change.type === "select");
      if (selectionOnly.length === 0) return state;
      return { ...state, graph: { ...state.graph, edges: applyEdgeChanges(selectionOnly, state.graph.edges) } };
    }
    case "select": {
      const graph = action.update(state.graph);
      return graph === state.graph ? state : { ...state, graph };
    }
    case "undo": {
      const step = undo(state.history, withoutSelection(state.graph));
      return step ? { ...state, graph: step.present, history: step.history, version: state.version + 1, gestureStart: undefined } : state;
    }
    case "redo": {
      const step = redo(state.history, withoutSelection(state.graph));
      return step ? { ...state, graph: step.present, history: step.history, version: state.version + 1, gestureStart: undefined } : state;
    }
    default: {
      const unreachable: never = action;
      return unreachable;
    }
  }
}
