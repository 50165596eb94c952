import ELK from "elkjs/lib/elk.bundled.js";
import { describe, expect, it } from "vitest";
import type { BoardGraph } from "./flow-types.ts";
import { addNode, connectNodes, createNode } from "./graph.ts";
import { applyLayout, EMPTY_CONTEXT_SIZE, layoutInput, LAYOUT_ROOT_ID } from "./layout.ts";

function connect(graph: BoardGraph, source: string, target: string): BoardGraph {
  const result = connectNodes(graph, source, target, `${source}->${target}`);
  if (!result.ok) throw new Error(result.reason);
  return result.graph;
}

function twoContexts(): BoardGraph {
  let graph: BoardGraph = { nodes: [], edges: [] };
  graph = addNode(graph, createNode("context", { x: 0, y: 0 }, "sales"));
  graph = addNode(graph, createNode("context", { x: 0, y: 1000 }, "billing"));
  graph = addNode(graph, createNode("context", { x: 3000, y: 3000 }, "empty"));
  graph = addNode(graph, createNode("command", { x: 10, y: 50 }, "place"));
  graph = addNode(graph, createNode("aggregate", { x: 250, y: 50 }, "order"));
  graph = addNode(graph, createNode("event", { x: 10, y: 200 }, "placed"));
  graph = addNode(graph, createNode("policy", { x: 10, y: 1050 }, "bill"));
  graph = addNode(graph, createNode("actor", { x: -500, y: -500 }, "clerk"));
  graph = connect(graph, "clerk", "place");
  graph = connect(graph, "place", "order");
  graph = connect(graph, "order", "placed");
  graph = connect(graph, "placed", "bill");
  // A stored edge that makes no sense is left out of the layout.
  graph = { ...graph, edges: [...graph.edges, { id: "bad", source: "placed", target: "place", type: "meaning", data: { meaning: "handles" } }] };
  return graph;
}

describe("auto-layout", () => {
  it("builds contexts as groups with their members, edges inside a context in its group and the rest at the top", () => {
    const input = layoutInput(twoContexts());
    expect(input.id).toBe(LAYOUT_ROOT_ID);
    expect(input.layoutOptions?.["elk.direction"]).toBe("RIGHT");
    const group = (id: string) => input.children!.find((child) => child.id === id)!;
    expect(group("sales").children!.map((child) => child.id)).toEqual(["place", "order", "placed"]);
    expect(group("sales").edges!.map((edge) => edge.id)).toEqual(["place->order", "order->placed"]);
    expect(group("billing").children!.map((child) => child.id)).toEqual(["bill"]);
    expect(group("empty")).toMatchObject(EMPTY_CONTEXT_SIZE);
    expect(input.children!.map((child) => child.id)).toEqual(["sales", "billing", "empty", "clerk"]);
    expect(input.edges!.map((edge) => edge.id)).toEqual(["clerk->place", "placed->bill"]);
    expect(group("sales").children![1]).toMatchObject({ width: 200, height: 96 });
  });

  it("places causes left of their effects and sizes contexts around their members", async () => {
    const graph = twoContexts();
    const laidOut = applyLayout(graph, await new ELK().layout(layoutInput(graph)));
    const node = (id: string) => laidOut.nodes.find((candidate) => candidate.id === id)!;
    expect(node("order").position.x).toBeGreaterThan(node("place").position.x);
    expect(node("placed").position.x).toBeGreaterThan(node("order").position.x);
    const sales = node("sales");
    expect(sales.width!).toBeGreaterThan(node("placed").position.x + 150);
    expect(node("place").parentId).toBe("sales");
    expect(laidOut.nodes.findIndex((candidate) => candidate.type !== "context")).toBe(3);
  });
});
