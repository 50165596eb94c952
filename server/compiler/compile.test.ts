import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { BoardDocument } from "../board/document.ts";
import { boardFileSchema, migrateBoardDocument } from "../board/migrations.ts";
import { serializeDefinition } from "../definition/v1.ts";
import { templates } from "../templates/index.ts";
import { toAsyncApi } from "./asyncapi.ts";
import { compileBoard } from "./compile.ts";
import { formatDiagnostic } from "./diagnostics.ts";
import { specArbitrary } from "./synthetic-arbitrary.ts";
import { syntheticBoard } from "./synthetic-board.ts";

const GOLDEN = path.join(import.meta.dirname, "__golden__");
/** UPDATE_GOLDEN=1 npx vitest run server/compiler rewrites the golden files. */
const updating = process.env.UPDATE_GOLDEN === "1";

function expectGolden(file: string, actual: string): void {
  const target = path.join(GOLDEN, file);
  if (updating) writeFileSync(target, actual);
  expect(existsSync(target), `${file} is missing; run with UPDATE_GOLDEN=1`).toBe(true);
  expect(actual).toBe(readFileSync(target, "utf8"));
}

function shuffled(board: BoardDocument, order: number[]): BoardDocument {
  const permute = <T>(items: readonly T[]) =>
    items
      .map((item, index) => ({ item, key: order[index % order.length] ?? 0, index }))
      .sort((a, b) => a.key - b.key || a.index - b.index)
      .map(({ item }) => item);
  return { ...board, nodes: permute(board.nodes), edges: permute([...board.edges].reverse()) };
}

describe("compileBoard", () => {
  it.each(templates)("matches the golden definition of $id", (template) => {
    const { definition, diagnostics } = compileBoard(template.board, { id: template.id, name: template.name, description: template.description });
    expect(diagnostics.filter((item) => item.severity !== "info").map(formatDiagnostic)).toEqual([]);
    expectGolden(`${template.id}.definition.json`, serializeDefinition(definition as NonNullable<typeof definition>));
  });

  it("matches the golden AsyncAPI document of insurance-quote", () => {
    const template = templates.find((item) => item.id === "insurance-quote");
    const { definition } = compileBoard(template?.board as BoardDocument, { id: "insurance-quote", name: "Application Premium Process" });
    expectGolden("insurance-quote.asyncapi.json", `${JSON.stringify(toAsyncApi(definition as NonNullable<typeof definition>), null, 2)}\n`);
  });

  it("matches the golden diagnostics of a broken board", () => {
    const file = boardFileSchema.parse(JSON.parse(readFileSync(path.join(GOLDEN, "broken-board.json"), "utf8")));
    const { definition, diagnostics } = compileBoard(migrateBoardDocument(file.document), { id: "broken", name: file.name });
    expect(definition).toBeUndefined();
    expectGolden("broken-board.diagnostics.txt", `${diagnostics.map(formatDiagnostic).join("\n")}\n`);
  });

  it("is deterministic: the same board, in any node and edge order, gives byte-identical JSON", () => {
    fc.assert(
      fc.property(specArbitrary, fc.array(fc.integer({ min: 0, max: 1000 }), { minLength: 1, maxLength: 40 }), (spec, order) => {
        const board = syntheticBoard(spec);
        const meta = { id: "synthetic", name: "Synthetic" };
        const first = compileBoard(board, meta);
        expect(first.diagnostics.filter((item) => item.severity === "error").map(formatDiagnostic)).toEqual([]);
        const again = compileBoard(structuredClone(board), meta);
        const reordered = compileBoard(shuffled(board, order), meta);
        const text = serializeDefinition(first.definition as NonNullable<typeof first.definition>);
        expect(serializeDefinition(again.definition as NonNullable<typeof again.definition>)).toBe(text);
        expect(serializeDefinition(reordered.definition as NonNullable<typeof reordered.definition>)).toBe(text);
        expect(reordered.diagnostics).toEqual(first.diagnostics);
      }),
      { numRuns: 60 },
    );
  });

  it("never throws on boards wired at random, and reports the same diagnostics in any node and edge order", () => {
    const base = syntheticBoard({ contexts: 2, unitsPerContext: 2, readModelEvery: 1, timers: true, conditions: true, deadlines: true, compensation: true, lifecycle: true, externalSystem: "redis" });
    const ids = base.nodes.map((node) => node.id);
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom(...ids), fc.constantFrom(...ids)), { maxLength: 12 }),
        fc.array(fc.nat(base.edges.length - 1), { maxLength: 6 }),
        fc.array(fc.integer({ min: 0, max: 1000 }), { minLength: 1, maxLength: 40 }),
        (extra, removed, order) => {
        const board: BoardDocument = {
          ...base,
          edges: [...base.edges.filter((_, index) => !removed.includes(index)), ...extra.map(([source, target], index) => ({ id: `random-${index}`, source, target }))],
        };
        const first = compileBoard(board, { id: "random", name: "Random" });
        const second = compileBoard(shuffled(board, order), { id: "random", name: "Random" });
        expect(second.diagnostics).toEqual(first.diagnostics);
        expect(first.definition === undefined).toBe(first.diagnostics.some((item) => item.severity === "error"));
        },
      ),
      // Found by this property: two identical edges, whose diagnostics named whichever came first.
      { numRuns: 150, examples: [[[["c1-nudged", "c1-u1-view"], ["c1-nudged", "c1-u1-view"]], [], [0]]] },
    );
  });

  it("carries a Redis stream binding's work-queue settings into the definition and back, and only in stream mode", () => {
    const template = templates.find((candidate) => candidate.id === "batch-allocation")!;
    const withBinding = (binding: Record<string, unknown>): BoardDocument => ({
      ...template.board,
      nodes: template.board.nodes.map((node) => (node.type === "externalSystem" && (node.data as { binding: { kind: string } }).binding.kind === "redis" ? { ...node, data: { ...node.data, binding } } : node)),
    }) as BoardDocument;
    const redisBindings = (board: BoardDocument) => {
      const { definition } = compileBoard(migrateBoardDocument(board), { id: "alloc", name: "Allocation" });
      if (!definition) throw new Error("expected a definition");
      return definition.externalSystems.map((system) => system.binding).filter((binding) => binding.kind === "redis");
    };
    const queue = redisBindings(withBinding({ kind: "redis", channel: "allocations", mode: "stream", batchSize: 10, pollIntervalMs: 250 }));
    expect(queue.length).toBeGreaterThan(0);
    for (const binding of queue) expect(binding).toEqual({ kind: "redis", channel: "allocations", mode: "stream", batchSize: 10, pollIntervalMs: 250 });
    for (const binding of redisBindings(withBinding({ kind: "redis", channel: "allocations", mode: "pubsub", batchSize: 10 }))) expect(binding).toEqual({ kind: "redis", channel: "allocations", mode: "pubsub" });
  });

  it("orders every list by name then id, and keeps rule order within a command", () => {
    const { definition } = compileBoard(templates[0]?.board as BoardDocument, { id: "insurance-quote", name: "Application Premium Process" });
    if (!definition) throw new Error("expected a definition");
    const names = (list: { name: string }[]) => list.map((item) => item.name);
    for (const list of [definition.contexts, definition.commands, definition.events, definition.aggregates, definition.readModels, definition.processManagers[0]?.steps ?? []]) {
      expect(names(list)).toEqual([...names(list)].sort());
    }
    const risk = definition.aggregates.find((aggregate) => aggregate.id === "risk-assessment");
    expect(risk?.decisions[0]?.rules.map((rule) => rule.outcome.kind)).toEqual(["reject", "emit", "emit"]);
  });

  it("describes each step completely: trigger, command, target context, handler, mapping", () => {
    const { definition } = compileBoard(templates[0]?.board as BoardDocument, { id: "insurance-quote", name: "Application Premium Process" });
    const step = definition?.processManagers[0]?.steps.find((item) => item.id === "request-rate");
    expect(step).toMatchObject({
      context: { id: "underwriting", name: "Underwriting" },
      triggers: [{ kind: "event", event: { id: "risk-assessed", name: "RiskAssessed" }, correlationKey: { input: "policy", source: "event.applicationId" } }],
      send: {
        command: { id: "calculate-rate", name: "CalculateRate" },
        context: { id: "rate", name: "Rate" },
        handler: { kind: "aggregate", id: "rate-calculation", name: "RateCalculation" },
        mapping: { input: "policy", fields: { coverage: "process.events.ApplicationSubmitted.coverage", riskScore: "event.riskScore" } },
      },
      expects: [{ id: "rate-calculated", name: "RateCalculated" }],
    });
    const manager = definition?.processManagers[0];
    expect(manager?.context).toEqual({ id: "underwriting", name: "Underwriting" });
    expect(manager?.completion.map((item) => item.event.name)).toEqual(["QuoteGenerated"]);
    expect(manager?.failure.map((item) => item.event.name)).toEqual(["RiskDeclined"]);
  });

  it("infers the correlation key of events no policy declares one for", () => {
    const { definition } = compileBoard(templates[0]?.board as BoardDocument, { id: "insurance-quote", name: "Application Premium Process" });
    expect(definition?.processManagers[0]?.completion[0]?.correlationKey).toEqual({ input: "policy", source: "event.applicationId" });
  });
});
