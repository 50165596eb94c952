import { describe, expect, it } from "vitest";
import type { BoardGraph } from "./flow-types.ts";
import { CLIPBOARD_FORMAT, copySelection, parseClipboard, pasteSelection, serializeClipboard } from "./clipboard.ts";
import { addNode, connectNodes, createNode, type NewId } from "./graph.ts";

function counterIds(): NewId {
  let next = 0;
  return (kind) => `${kind}-new${++next}`;
}

function board(): BoardGraph {
  let graph: BoardGraph = { nodes: [], edges: [] };
  graph = addNode(graph, createNode("context", { x: 0, y: 0 }, "ctx", { name: "Users" }));
  graph = addNode(graph, createNode("command", { x: 20, y: 60 }, "cmd", { name: "RegisterUser" }));
  graph = addNode(graph, createNode("event", { x: 400, y: 60 }, "evt", { name: "UserRegistered" }));
  graph = addNode(
    graph,
    createNode("aggregate", { x: 200, y: 60 }, "agg", {
      name: "User",
      rules: [{ id: "r1", command: "cmd", outcome: { kind: "emit", events: [{ event: "evt", mapping: { userId: "command.userId" } }] } }],
      evolutions: [{ event: "evt", set: { registered: "true" } }],
    }),
  );
  graph = addNode(graph, createNode("readModel", { x: 900, y: 600 }, "view", { name: "Directory", updates: [{ event: "evt", key: "event.userId", set: {}, remove: false }] }));
  for (const [source, target, id] of [
    ["cmd", "agg", "e1"],
    ["agg", "evt", "e2"],
    ["evt", "view", "e3"],
  ] as const) {
    const result = connectNodes(graph, source, target, id);
    if (!result.ok) throw new Error(result.reason);
    graph = result.graph;
  }
  return graph;
}

describe("copy and paste", () => {
  it("copies a context with its members and the edges among the copied nodes only", () => {
    const payload = copySelection(board(), ["ctx"])!;
    expect(payload.format).toBe(CLIPBOARD_FORMAT);
    expect(payload.nodes.map((node) => node.id).sort()).toEqual(["agg", "cmd", "ctx", "evt"]);
    expect(payload.edges.map((edge) => edge.id).sort()).toEqual(["e1", "e2"]);
    expect(copySelection(board(), [])).toBeUndefined();
  });

  it("stores a member copied without its context at its absolute position", () => {
    const graph = board();
    const moved = { ...graph, nodes: graph.nodes.map((node) => (node.id === "ctx" ? { ...node, position: { x: 1000, y: 500 } } : node)) };
    const payload = copySelection(moved, ["cmd"])!;
    expect(payload.nodes[0]).toMatchObject({ id: "cmd", position: { x: 1020, y: 560 } });
    expect(payload.nodes[0]).not.toHaveProperty("parentId");
  });

  it("pastes with new ids, remapped edges, parents and data references, as the only selection", () => {
    const graph = board();
    const text = serializeClipboard(copySelection(graph, ["ctx"])!);
    const payload = parseClipboard(text)!;
    const { graph: pasted, pastedIds } = pasteSelection(graph, payload, { x: 40, y: 40 }, counterIds());
    expect(pasted.nodes).toHaveLength(graph.nodes.length + 4);
    expect(new Set(pasted.nodes.map((node) => node.id)).size).toBe(pasted.nodes.length);
    expect(pasted.nodes.filter((node) => node.selected).map((node) => node.id).sort()).toEqual([...pastedIds].sort());

    const byName = (name: string) => pasted.nodes.find((node) => node.data.name === name && pastedIds.includes(node.id))!;
    const context = byName("Users");
    expect(context.position).toEqual({ x: 40, y: 40 });
    const command = byName("RegisterUser");
    expect(command.parentId).toBe(context.id);
    expect(command.position).toEqual({ x: 20, y: 60 });
    const aggregate = byName("User");
    if (aggregate.type !== "aggregate") throw new Error("expected the aggregate");
    const event = byName("UserRegistered");
    expect(aggregate.data.rules[0]!.command).toBe(command.id);
    expect(aggregate.data.rules[0]!.outcome).toEqual({ kind: "emit", events: [{ event: event.id, mapping: { userId: "command.userId" } }] });
    expect(aggregate.data.evolutions[0]!.event).toBe(event.id);

    const newEdges = pasted.edges.slice(graph.edges.length);
    expect(newEdges.map((edge) => [edge.source, edge.target])).toEqual([
      [command.id, aggregate.id],
      [aggregate.id, event.id],
    ]);
    expect(newEdges.every((edge) => edge.data?.meaning)).toBe(true);
    // The original is untouched.
    expect(graph.nodes.find((node) => node.id === "agg")!.data).toEqual(board().nodes.find((node) => node.id === "agg")!.data);
  });

  it("keeps references to elements outside the pasted set", () => {
    const graph = board();
    const payload = copySelection(graph, ["view"])!;
    const { graph: pasted, pastedIds } = pasteSelection(graph, payload, { x: 10, y: 10 }, counterIds());
    const view = pasted.nodes.find((node) => node.id === pastedIds[0])!;
    expect(view.type === "readModel" && view.data.updates[0]!.event).toBe("evt");
  });

  it("ignores clipboard text that is not a valid selection", () => {
    expect(parseClipboard("hello")).toBeUndefined();
    expect(parseClipboard(`{"format":"${CLIPBOARD_FORMAT}"`)).toBeUndefined();
    expect(parseClipboard(JSON.stringify({ format: CLIPBOARD_FORMAT, version: 1, nodes: [{ id: "x", type: "bogus" }], edges: [] }))).toBeUndefined();
    const dangling = { ...copySelection(board(), ["cmd"])!, edges: [{ id: "e", source: "cmd", target: "elsewhere" }] };
    expect(parseClipboard(JSON.stringify(dangling))).toBeUndefined();
  });
});
