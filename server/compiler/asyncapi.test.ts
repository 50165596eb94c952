import { DiagnosticSeverity, Parser } from "@asyncapi/parser";
import { describe, expect, it } from "vitest";
import type { BoardDocument } from "../board/document.ts";
import { templates } from "../templates/index.ts";
import { toAsyncApi } from "./asyncapi.ts";
import { compileBoard } from "./compile.ts";
import { syntheticBoard, type SyntheticSpec } from "./synthetic-board.ts";

const parser = new Parser();

function definitionOf(board: BoardDocument, id: string) {
  const { definition, diagnostics } = compileBoard(board, { id, name: id });
  if (!definition) throw new Error(diagnostics.map((item) => item.message).join("; "));
  return definition;
}

const spec = (externalSystem: SyntheticSpec["externalSystem"]): SyntheticSpec => ({
  contexts: 2,
  unitsPerContext: 2,
  readModelEvery: 0,
  timers: false,
  conditions: false,
  deadlines: false,
  compensation: false,
  lifecycle: true,
  externalSystem,
});

const documents = [
  ...templates.map((template) => ({ name: template.id, definition: definitionOf(template.board, template.id) })),
  ...(["redis", "nats", "webhook"] as const).map((kind) => ({ name: `synthetic with ${kind}`, definition: definitionOf(syntheticBoard(spec(kind)), `synthetic-${kind}`) })),
];

describe("toAsyncApi", () => {
  it.each(documents)("gives a valid AsyncAPI 3.0 document for $name", async ({ definition }) => {
    const document = toAsyncApi(definition);
    const { diagnostics } = await parser.parse(JSON.stringify(document));
    const errors = diagnostics.filter((item) => item.severity === DiagnosticSeverity.Error);
    expect(errors.map((item) => `${item.code} ${item.message} at ${item.path.join("/")}`)).toEqual([]);
  });

  it("the validation catches a broken document", async () => {
    const document = toAsyncApi(documents[0]?.definition as NonNullable<(typeof documents)[0]>["definition"]);
    const broken = { ...document, operations: { ...document.operations, publishRiskAssessed: { ...document.operations.publishRiskAssessed, action: "publish" } } };
    const { diagnostics } = await parser.parse(JSON.stringify(broken));
    expect(diagnostics.some((item) => item.severity === DiagnosticSeverity.Error)).toBe(true);
  });

  it("has a commands and an events channel per context, with operations for each message", () => {
    const definition = documents[0]?.definition;
    if (!definition) throw new Error("no definition");
    const document = toAsyncApi(definition);
    expect(Object.keys(document.channels).sort()).toEqual(["rate.commands", "rate.events", "risk.commands", "risk.events", "underwriting.commands", "underwriting.events"]);
    expect(document.channels["risk.events"]?.address).toBe("insurance-quote.risk.events");
    expect(Object.keys(document.channels["risk.events"]?.messages ?? {}).sort()).toEqual(["RiskAssessed", "RiskDeclined"]);
    expect(document.operations.publishRiskAssessed).toEqual({
      action: "send",
      channel: { $ref: "#/channels/risk.events" },
      title: "Publish RiskAssessed",
      messages: [{ $ref: "#/channels/risk.events/messages/RiskAssessed" }],
    });
    expect(document.operations.handleAssessRisk?.action).toBe("receive");
    expect(document.components.messages.RiskAssessed?.payload).toEqual(definition.events.find((event) => event.name === "RiskAssessed")?.schema);
  });

  it("gives each external binding a channel at its address, with inbound and outbound messages", () => {
    const definition = documents.find((item) => item.name === "synthetic with nats")?.definition;
    if (!definition) throw new Error("no definition");
    const document = toAsyncApi(definition);
    expect(document.channels["external.partner"]?.address).toBe("cases.>");
    const receive = document.operations["receive.partner.open_case"];
    expect(receive).toMatchObject({ action: "receive", bindings: { nats: { queue: "sagaboard" } } });
    expect(document.components.messages["partner.inbound.open_case"]?.payload).toEqual({
      type: "object",
      properties: { id: { type: "string" }, amount: { type: "number" } },
    });
    expect(document.components.messages["partner.outbound.case_done"]?.payload).toEqual({
      type: "object",
      properties: { id: { type: "string" }, total: { type: "number" } },
      required: ["id", "total"],
    });
  });
});
