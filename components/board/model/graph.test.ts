import { describe, expect, it } from "vitest";
import { emptyBoard, type BoardDocument } from "@/server/board/document.ts";
import type { BoardGraph } from "./flow-types.ts";
import {
  addNode,
  connectNodes,
  contextAt,
  createNode,
  documentFromGraph,
  findNodes,
  graphFromDocument,
  membershipAfterMove,
  orderParentsFirst,
  removeElements,
  setNodeContext,
  updateNodeData,
} from "./graph.ts";

function sampleGraph(): BoardGraph {
  let graph: BoardGraph = { nodes: [], edges: [] };
  graph = addNode(graph, createNode("context", { x: 100, y: 100 }, "ctx", { name: "Orders" }));
  graph = addNode(graph, createNode("command", { x: 140, y: 160 }, "cmd", { name: "PlaceOrder" }));
  graph = addNode(graph, createNode("aggregate", { x: 900, y: 100 }, "agg", { name: "Order" }));
  graph = addNode(graph, createNode("event", { x: 1200, y: 100 }, "evt", { name: "OrderPlaced" }));
  return graph;
}

describe("board graph", () => {
  it("puts contexts before their members, as React Flow needs", () => {
    const doc: BoardDocument = {
      ...emptyBoard(),
      nodes: [
        { id: "m", type: "actor", parentId: "c", position: { x: 1, y: 1 }, data: { name: "Clerk", description: "" } },
        { id: "c", type: "context", position: { x: 0, y: 0 }, data: { name: "Sales", description: "" } },
      ],
    };
    expect(graphFromDocument(doc).nodes.map((node) => node.id)).toEqual(["c", "m"]);
    const ordered = [{ type: "context" }, { type: "actor" }];
    expect(orderParentsFirst(ordered)).toBe(ordered);
  });

  it("round-trips a document, dropping React Flow's runtime fields", () => {
    const graph = sampleGraph();
    const measured = { ...graph, nodes: graph.nodes.map((node) => ({ ...node, measured: { width: 1, height: 2 }, dragging: false })) };
    const doc = documentFromGraph(measured);
    expect(doc.nodes.every((node) => !("selected" in node) && !("measured" in node) && !("dragging" in node))).toBe(true);
    expect(graphFromDocument(doc).nodes.map((node) => node.id)).toEqual(graph.nodes.map((node) => node.id));
  });

  it("makes a node dropped into a context its member, positioned relative to it, and selects only it", () => {
    const graph = sampleGraph();
    const command = graph.nodes.find((node) => node.id === "cmd")!;
    expect(command.parentId).toBe("ctx");
    expect(command.position).toEqual({ x: 40, y: 60 });
    expect(graph.nodes.find((node) => node.id === "agg")!.parentId).toBeUndefined();
    expect(graph.nodes.filter((node) => node.selected).map((node) => node.id)).toEqual(["evt"]);
  });

  it("connects with a meaning and refuses with the reason from the connection rules", () => {
    const graph = sampleGraph();
    const handled = connectNodes(graph, "cmd", "agg", "e1");
    expect(handled).toMatchObject({ ok: true, edge: { source: "cmd", target: "agg", data: { meaning: "handles" } } });
    expect(connectNodes(graph, "evt", "cmd", "e2")).toEqual({ ok: false, reason: "an event cannot issue a command; put a policy between them" });
    expect(connectNodes(graph, "cmd", "ctx", "e3")).toMatchObject({ ok: false, reason: expect.stringContaining("contexts are containers") });
    expect(connectNodes(graph, "cmd", "cmd", "e4")).toMatchObject({ ok: false, reason: expect.stringContaining("itself") });
    if (!handled.ok) throw new Error("expected a connection");
    expect(connectNodes(handled.graph, "cmd", "agg", "e5")).toMatchObject({ ok: false, reason: expect.stringContaining("already connected") });
  });

  it("removes a context with its members and every edge that touched them", () => {
    let graph = sampleGraph();
    const connected = connectNodes(graph, "cmd", "agg", "e1");
    if (!connected.ok) throw new Error("expected a connection");
    graph = connected.graph;
    const removed = removeElements(graph, ["ctx"]);
    expect(removed.nodes.map((node) => node.id)).toEqual(["agg", "evt"]);
    expect(removed.edges).toEqual([]);
    expect(removeElements(graph, [], [])).toBe(graph);
  });

  it("drops what other elements say about removed ones: rules, emitted events, evolutions, view updates, compensation", () => {
    let graph = sampleGraph();
    graph = addNode(graph, createNode("event", { x: 1200, y: 400 }, "evt2", { name: "OrderRejected" }));
    graph = addNode(
      graph,
      createNode("aggregate", { x: 900, y: 600 }, "agg2", {
        name: "Ledger",
        rules: [
          { id: "r1", command: "cmd", outcome: { kind: "emit", events: [{ event: "evt", mapping: {} }, { event: "evt2", mapping: {} }] } },
          { id: "r2", command: "cmd", outcome: { kind: "emit", events: [{ event: "evt", mapping: {} }] } },
          { id: "r3", command: "cmd", outcome: { kind: "reject", reason: "no" } },
        ],
        evolutions: [{ event: "evt", set: {} }, { event: "evt2", set: {} }],
      }),
    );
    graph = addNode(graph, createNode("policy", { x: 0, y: 900 }, "pol", { name: "Undo", compensation: "cmd", deadline: { afterMs: 1000, onTimeout: "cmd" } }));
    graph = addNode(graph, createNode("readModel", { x: 0, y: 1200 }, "view", { name: "Orders", updates: [{ event: "evt", key: "event.id", set: {}, remove: false }] }));

    const withoutEvent = removeElements(graph, ["evt"]);
    const ledger = withoutEvent.nodes.find((node) => node.id === "agg2")!;
    if (ledger.type !== "aggregate") throw new Error("expected the aggregate");
    expect(ledger.data.rules.map((rule) => rule.id)).toEqual(["r1", "r3"]);
    expect(ledger.data.rules[0]!.outcome).toEqual({ kind: "emit", events: [{ event: "evt2", mapping: {} }] });
    expect(ledger.data.evolutions.map((evolution) => evolution.event)).toEqual(["evt2"]);
    const view = withoutEvent.nodes.find((node) => node.id === "view")!;
    expect(view.type === "readModel" && view.data.updates).toEqual([]);

    const withoutCommand = removeElements(graph, ["cmd"]);
    const policy = withoutCommand.nodes.find((node) => node.id === "pol")!;
    expect(policy.data).not.toHaveProperty("compensation");
    expect(policy.type === "policy" && policy.data.deadline).toEqual({ afterMs: 1000 });
    const untouched = withoutCommand.nodes.find((node) => node.id === "view")!;
    expect(untouched).toBe(graph.nodes.find((node) => node.id === "view"));
  });

  it("updates one node's data and keeps the graph when nothing changed", () => {
    const graph = sampleGraph();
    const renamed = updateNodeData(graph, "cmd", "command", (data) => ({ ...data, name: "SubmitOrder" }));
    expect(renamed.nodes.find((node) => node.id === "cmd")!.data.name).toBe("SubmitOrder");
    expect(graph.nodes.find((node) => node.id === "cmd")!.data.name).toBe("PlaceOrder");
    expect(updateNodeData(graph, "cmd", "event", (data) => ({ ...data, name: "wrong kind" }))).toBe(graph);
  });

  it("joins and leaves contexts by where a dragged node's centre ends up, without moving it on screen", () => {
    let graph = sampleGraph();
    // Drag the aggregate (absolute) into the context.
    graph = { ...graph, nodes: graph.nodes.map((node) => (node.id === "agg" ? { ...node, position: { x: 300, y: 200 } } : node)) };
    graph = membershipAfterMove(graph, ["agg"]);
    const aggregate = graph.nodes.find((node) => node.id === "agg")!;
    expect(aggregate.parentId).toBe("ctx");
    expect(aggregate.position).toEqual({ x: 200, y: 100 });
    // Drag the command (relative) far outside.
    graph = { ...graph, nodes: graph.nodes.map((node) => (node.id === "cmd" ? { ...node, position: { x: 2000, y: 40 } } : node)) };
    graph = membershipAfterMove(graph, ["cmd"]);
    const command = graph.nodes.find((node) => node.id === "cmd")!;
    expect(command.parentId).toBeUndefined();
    expect("parentId" in command).toBe(false);
    expect(command.position).toEqual({ x: 2100, y: 140 });
    expect(setNodeContext(graph, "ctx", "ctx")).toBe(graph);
  });

  it("finds the topmost context under a point", () => {
    const graph = sampleGraph();
    expect(contextAt(graph, { x: 150, y: 150 })?.id).toBe("ctx");
    expect(contextAt(graph, { x: 50, y: 50 })).toBeUndefined();
  });

  it("finds nodes by name, exact matches first", () => {
    let graph = sampleGraph();
    graph = addNode(graph, createNode("event", { x: 0, y: 900 }, "evt2", { name: "Order" }));
    expect(findNodes(graph, "order").map((node) => node.id)).toEqual(["agg", "evt2", "evt", "ctx", "cmd"]);
    expect(findNodes(graph, "  ")).toEqual([]);
  });
});
