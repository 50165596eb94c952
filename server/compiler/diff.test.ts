import { describe, expect, it } from "vitest";
import type { ProcessDefinitionV1 } from "../definition/v1.ts";
import { BoardBuilder, payload } from "../templates/builder.ts";
import { insuranceQuote } from "../templates/insurance-quote.ts";
import { compileBoard } from "./compile.ts";
import { diffDefinitions, formatDiff } from "./diff.ts";
import { syntheticBoard } from "./synthetic-board.ts";

const meta = { id: "insurance-quote", name: "Application Premium Process" };

function definitionOf(build: (board: BoardBuilder) => void): ProcessDefinitionV1 {
  const builder = new BoardBuilder();
  build(builder);
  const { definition, diagnostics } = compileBoard(builder.build(), meta);
  if (!definition) throw new Error(diagnostics.map((item) => item.message).join("; "));
  return definition;
}

const original = definitionOf(insuranceQuote);

describe("diffDefinitions", () => {
  it("finds nothing between a definition and itself", () => {
    const diff = diffDefinitions(original, structuredClone(original));
    expect(diff.changes).toEqual([]);
    expect(formatDiff(diff)).toBe("No changes.\n");
  });

  it("shows a new subscribing context as additions only", () => {
    const withPricing = definitionOf((board) => {
      insuranceQuote(board);
      const pricing = board.context("pricing", "Pricing", { description: "Adjusts prices from supply and demand." });
      const adjust = board.command(pricing, "adjust-price-model", "AdjustPriceModel", payload({ product: "string", premium: "number" }));
      const adjusted = board.event(pricing, "price-model-adjusted", "PriceModelAdjusted", payload({ product: "string", averagePremium: "number" }));
      board.aggregate(pricing, "price-model", "PriceModel", { idExpression: "command.product", state: [{ name: "quotes", type: "integer", initial: 0 }] });
      board
        .decide("price-model", adjust, [{ emit: [{ event: adjusted, mapping: { product: "command.product", averagePremium: "command.premium" } }] }])
        .evolve("price-model", adjusted, { quotes: "state.quotes + 1" });
      board.policy(pricing, "learn-from-quotes", "Learn from quotes", {
        on: ["quote-generated"],
        issue: adjust,
        correlationKey: "event.applicationId",
        mapping: { product: "process.events.ApplicationSubmitted.coverage.product", premium: "event.totalAnnualPremium" },
      });
    });
    const diff = diffDefinitions(original, withPricing);
    expect(diff.changes.filter((change) => change.change !== "added")).toEqual([]);
    expect(diff.changes.map((change) => `${change.category}:${change.id}`).sort()).toEqual([
      "aggregates:price-model",
      "contexts:pricing",
      "messages:adjust-price-model",
      "messages:price-model-adjusted",
      "steps:learn-from-quotes",
    ]);
    expect(diff.counts).toEqual({ added: 5, removed: 0, changed: 0 });
  });

  it("details a changed rule down to the field", () => {
    const changed = structuredClone(original);
    const rule = changed.aggregates.find((aggregate) => aggregate.id === "risk-assessment")?.decisions[0]?.rules[1];
    if (!rule?.condition) throw new Error("expected a conditional rule");
    rule.condition.source = "command.coverage.sumInsured > 2000000";
    const diff = diffDefinitions(original, changed);
    expect(diff.changes).toEqual([
      {
        category: "aggregates",
        change: "changed",
        id: "risk-assessment",
        name: "RiskAssessment",
        fields: [
          {
            path: "decisions[assess-risk].rules[risk-assessment.rule-2].condition.source",
            before: "command.coverage.sumInsured > 5000000",
            after: "command.coverage.sumInsured > 2000000",
          },
        ],
      },
    ]);
    expect(formatDiff(diff)).toContain(
      '~ aggregate RiskAssessment (risk-assessment)\n    ~ decisions[assess-risk].rules[risk-assessment.rule-2].condition.source: "command.coverage.sumInsured > 5000000" → "command.coverage.sumInsured > 2000000"',
    );
  });

  it("reports removed views, changed steps and changed message payloads", () => {
    const changed = structuredClone(original);
    changed.readModels = [];
    const step = changed.processManagers[0]?.steps.find((item) => item.id === "request-rate");
    if (!step) throw new Error("expected the step");
    step.retry.maxAttempts = 3;
    delete step.send.mapping.fields.riskBand;
    const event = changed.events.find((item) => item.id === "risk-assessed");
    if (!event) throw new Error("expected the event");
    event.schema.properties.assessor = { type: "string" };
    const diff = diffDefinitions(original, changed);
    const find = (category: string, id: string) => diff.changes.find((change) => change.category === category && change.id === id);
    expect(find("views", "quotes-by-application")?.change).toBe("removed");
    expect(find("steps", "request-rate")?.fields).toEqual([
      { path: "send.mapping.fields.riskBand", before: "event.riskBand" },
      { path: "retry.maxAttempts", before: 8, after: 3 },
    ]);
    expect(find("messages", "risk-assessed")).toMatchObject({ kind: "event", fields: [{ path: "schema.properties.assessor", after: { type: "string" } }] });
    expect(formatDiff(diff)).toMatch(/^- view QuotesByApplication \(quotes-by-application\)$/m);
    expect(formatDiff(diff)).toMatch(/^0 added, 1 removed, 2 changed$/m);
  });

  it("reports binding changes with the address that moved", () => {
    const spec = { contexts: 1, unitsPerContext: 2, readModelEvery: 0, timers: false, conditions: false, deadlines: false, compensation: false, lifecycle: true, externalSystem: "redis" } as const;
    const before = compileBoard(syntheticBoard(spec), meta).definition;
    const after = compileBoard(syntheticBoard({ ...spec, externalSystem: "nats" }), meta).definition;
    if (!before || !after) throw new Error("expected definitions");
    const binding = diffDefinitions(before, after).changes.find((change) => change.category === "bindings");
    expect(binding?.fields).toEqual([
      { path: "binding.kind", before: "redis", after: "nats" },
      { path: "binding.subject", after: "cases.>" },
      { path: "binding.queueGroup", after: "sagaboard" },
      { path: "binding.channel", before: "cases" },
      { path: "binding.mode", before: "pubsub" },
    ]);
  });
});
