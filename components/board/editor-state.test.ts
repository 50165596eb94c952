import { describe, expect, it } from "vitest";
import { editorReducer, initialEditorState, type EditorState } from "./editor-state.ts";
import type { BoardGraph } from "./model/flow-types.ts";
import { addNode, createNode } from "./model/graph.ts";

function start(): EditorState {
  let graph: BoardGraph = { nodes: [], edges: [] };
  graph = addNode(graph, createNode("context", { x: 0, y: 0 }, "ctx"));
  graph = addNode(graph, createNode("command", { x: 700, y: 0 }, "cmd"));
  return initialEditorState(graph);
}

describe("editor state", () => {
  it("turns a whole drag into one undo step, and joins the context it was dropped in", () => {
    let state = start();
    for (const [x, dragging] of [
      [650, true],
      [400, true],
      [100, true],
    ] as const) {
      state = editorReducer(state, { type: "nodesChanged", changes: [{ type: "position", id: "cmd", position: { x, y: 40 }, dragging }], at: 1000 });
    }
    expect(state.history.past).toHaveLength(0);
    expect(state.gestureStart).toBeDefined();
    // Nothing downstream (autosave, problems) works per frame.
    expect(state.version).toBe(0);
    state = editorReducer(state, { type: "nodesChanged", changes: [{ type: "position", id: "cmd", dragging: false }], at: 1100 });
    expect(state.gestureStart).toBeUndefined();
    expect(state.history.past).toHaveLength(1);
    const command = state.graph.nodes.find((node) => node.id === "cmd")!;
    expect(command.parentId).toBe("ctx");
    expect(state.version).toBeGreaterThan(0);

    state = editorReducer(state, { type: "undo" });
    const restored = state.graph.nodes.find((node) => node.id === "cmd")!;
    expect(restored.position).toEqual({ x: 700, y: 0 });
    expect(restored.parentId).toBeUndefined();
  });

  it("records arrow-key moves, several quick ones as one step", () => {
    let state = start();
    state = editorReducer(state, { type: "nodesChanged", changes: [{ type: "position", id: "cmd", position: { x: 710, y: 0 }, dragging: false }], at: 1 });
    state = editorReducer(state, { type: "nodesChanged", changes: [{ type: "position", id: "cmd", position: { x: 720, y: 0 }, dragging: false }], at: 2 });
    expect(state.version).toBe(2);
    expect(state.history.past).toHaveLength(1);
    state = editorReducer(state, { type: "undo" });
    expect(state.graph.nodes.find((node) => node.id === "cmd")!.position).toEqual({ x: 700, y: 0 });
  });

  it("records nothing for a click that did not move anything", () => {
    let state = start();
    state = editorReducer(state, { type: "nodesChanged", changes: [{ type: "position", id: "cmd", position: { x: 700, y: 0 }, dragging: true }], at: 1 });
    state = editorReducer(state, { type: "nodesChanged", changes: [{ type: "position", id: "cmd", dragging: false }], at: 2 });
    expect(state.history.past).toHaveLength(0);
  });

  it("does not count selection or measuring as a change to save", () => {
    let state = start();
    state = editorReducer(state, { type: "nodesChanged", changes: [{ type: "select", id: "cmd", selected: true }], at: 1 });
    state = editorReducer(state, { type: "nodesChanged", changes: [{ type: "dimensions", id: "cmd", dimensions: { width: 180, height: 80 } }], at: 2 });
    state = editorReducer(state, { type: "edgesChanged", changes: [] });
    expect(state.version).toBe(0);
    expect(state.graph.nodes.find((node) => node.id === "cmd")!.selected).toBe(true);
  });

  it("makes a resize one undo step", () => {
    let state = start();
    state = editorReducer(state, { type: "nodesChanged", changes: [{ type: "dimensions", id: "ctx", dimensions: { width: 600, height: 400 }, resizing: true, setAttributes: true }], at: 1 });
    state = editorReducer(state, { type: "nodesChanged", changes: [{ type: "dimensions", id: "ctx", dimensions: { width: 700, height: 420 }, resizing: true, setAttributes: true }], at: 2 });
    state = editorReducer(state, { type: "nodesChanged", changes: [{ type: "dimensions", id: "ctx", resizing: false }], at: 3 });
    expect(state.graph.nodes[0]!.width).toBe(700);
    expect(state.history.past).toHaveLength(1);
    state = editorReducer(state, { type: "undo" });
    expect(state.graph.nodes[0]!.width).toBe(520);
    state = editorReducer(state, { type: "redo" });
    expect(state.graph.nodes[0]!.width).toBe(700);
  });

  it("coalesces typing into one field but not edits of different fields", () => {
    let state = start();
    const rename = (name: string, key: string, at: number) =>
      editorReducer(state, { type: "edit", update: (graph) => ({ ...graph, nodes: graph.nodes.map((node) => (node.id === "cmd" ? ({ ...node, data: { ...node.data, name } } as typeof node) : node)) }), key, at });
    state = rename("P", "cmd:name", 10);
    state = rename("Pl", "cmd:name", 20);
    state = rename("Pla", "cmd:name", 30);
    state = rename("Plan", "cmd:description", 40);
    expect(state.history.past).toHaveLength(2);
    state = editorReducer(state, { type: "undo" });
    state = editorReducer(state, { type: "undo" });
    expect(state.graph.nodes.find((node) => node.id === "cmd")!.data.name).toBe("New command");
  });
});
