import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { compileBoard } from "../compiler/compile.ts";
import { syntheticBoard } from "../compiler/synthetic-board.ts";
import { templates } from "../templates/index.ts";
import { PROCESS_DEFINITION_SCHEMA_PATH, processDefinitionJsonSchemaText } from "./json-schema.ts";
import { DefinitionFormatError, parseDefinition, processDefinitionV1Schema, type ProcessDefinitionV1 } from "./v1.ts";

const committedText = readFileSync(path.resolve(import.meta.dirname, "../..", PROCESS_DEFINITION_SCHEMA_PATH), "utf8");
const committedValidator = z.fromJSONSchema(JSON.parse(committedText) as Parameters<typeof z.fromJSONSchema>[0]);

function fixtures(): { name: string; definition: ProcessDefinitionV1 }[] {
  const boards = [
    ...templates.map((template) => ({ name: template.id, board: template.board })),
    {
      name: "synthetic, every feature",
      board: syntheticBoard({
        contexts: 3,
        unitsPerContext: 3,
        readModelEvery: 2,
        timers: true,
        conditions: true,
        deadlines: true,
        compensation: true,
        lifecycle: true,
        externalSystem: "nats",
      }),
    },
    {
      name: "synthetic, webhook",
      board: syntheticBoard({
        contexts: 1,
        unitsPerContext: 2,
        readModelEvery: 0,
        timers: false,
        conditions: false,
        deadlines: true,
        compensation: false,
        lifecycle: false,
        externalSystem: "webhook",
      }),
    },
  ];
  return boards.map(({ name, board }) => {
    const { definition, diagnostics } = compileBoard(board, { id: name.replace(/\W+/g, "-"), name });
    if (!definition) throw new Error(`${name} does not compile: ${diagnostics.map((item) => item.message).join("; ")}`);
    return { name, definition };
  });
}

function firstFixture(): ProcessDefinitionV1 {
  const [first] = fixtures();
  if (!first) throw new Error("no fixtures");
  return first.definition;
}

describe("the committed JSON Schema", () => {
  it("is the one generated from the zod schema (regenerate with: npx tsx scripts/generate-json-schema.ts)", () => {
    expect(committedText).toBe(processDefinitionJsonSchemaText());
  });

  it.each(fixtures())("validates the compiled $name", ({ definition }) => {
    const result = committedValidator.safeParse(JSON.parse(JSON.stringify(definition)));
    expect(result.error?.issues ?? []).toEqual([]);
  });

  it("rejects definitions that break the format", () => {
    const definition = firstFixture();
    const broken = [
      { ...definition, formatVersion: 2 },
      { ...definition, commands: [{ ...definition.commands[0], visibility: "secret" }] },
      { ...definition, aggregates: definition.aggregates.map((aggregate) => ({ ...aggregate, idExpression: { input: "nowhere", source: "command.id" } })) },
      { ...definition, externalSystems: [{ id: "x", name: "X", description: "", context: null, binding: { kind: "smtp" }, inbound: [], outbound: [] }] },
      Object.fromEntries(Object.entries(definition).filter(([key]) => key !== "processManagers")),
    ];
    for (const candidate of broken) expect(committedValidator.safeParse(candidate).success).toBe(false);
  });
});

describe("definition v1", () => {
  it("is written in schema key order, so parsing and writing again changes nothing", () => {
    for (const { definition } of fixtures()) {
      expect(JSON.stringify(processDefinitionV1Schema.parse(definition))).toBe(JSON.stringify(definition));
    }
  });

  it("parseDefinition names what is wrong", () => {
    const definition = firstFixture();
    expect(parseDefinition(JSON.parse(JSON.stringify(definition)))).toEqual(definition);
    expect(() => parseDefinition({ ...definition, formatVersion: 7 })).toThrow(/formatVersion: 7 is not supported/);
    try {
      parseDefinition({ ...definition, contexts: [{ id: "", name: "X" }] });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(DefinitionFormatError);
      expect((error as DefinitionFormatError).problems.some((problem) => problem.startsWith("contexts.0."))).toBe(true);
    }
  });
});
