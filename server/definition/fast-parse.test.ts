import fc from "fast-check";
import jsonata from "jsonata";
import { describe, expect, it } from "vitest";
import { fastParse } from "./fast-parse.ts";

const jsonataAst = (source: string) => JSON.parse(JSON.stringify(jsonata(source).ast())) as unknown;

const names = fc.constantFrom("event", "command", "state", "view", "meta", "amount", "lines", "userId", "x", "a_b", "v2");
const path = fc.array(names, { minLength: 1, maxLength: 4 }).chain((parts) =>
  fc.array(fc.constantFrom(".", " . ", ". "), { minLength: parts.length - 1, maxLength: parts.length - 1 }).map((dots) => parts.map((part, index) => (index === 0 ? part : `${dots[index - 1]}${part}`)).join("")),
);
const literal = fc.oneof(
  fc.integer({ min: 0, max: 100000 }).map(String),
  fc.double({ min: 0, max: 1000, noNaN: true, noDefaultInfinity: true }).map((value) => String(Math.round(value * 100) / 100)),
  fc.constantFrom("1.5e3", "0", "0.25", "true", "false", "null"),
  fc.stringMatching(/^[a-z .,!-]{0,12}$/).map((text) => `'${text}'`),
  fc.stringMatching(/^[a-z ]{0,8}$/).map((text) => `"${text}"`),
);
const operators = fc.constantFrom("+", "-", "*", "/", "%", "&", "=", "!=", "<", "<=", ">", ">=", "and", "or");
const functions = fc.constantFrom("$round", "$now", "$string", "$sum", "$not", "$count", "$exists");

const expression: fc.Arbitrary<string> = fc.letrec<{ expr: string }>((tie) => ({
  expr: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    path,
    literal,
    fc.tuple(tie("expr"), operators, tie("expr")).map(([left, op, right]) => `${left} ${op} ${right}`),
    fc.tuple(tie("expr"), operators, tie("expr")).map(([left, op, right]) => `${left}${op === "and" || op === "or" ? ` ${op} ` : op}${right}`),
    tie("expr").map((inner) => `(${inner})`),
    tie("expr").map((inner) => `-${inner}`),
    fc.tuple(tie("expr"), tie("expr"), tie("expr")).map(([condition, then, otherwise]) => `${condition} ? ${then} : ${otherwise}`),
    fc.tuple(tie("expr"), tie("expr")).map(([condition, then]) => `${condition} ? ${then}`),
    fc.tuple(functions, fc.array(tie("expr"), { maxLength: 3 })).map(([name, args]) => `${name}(${args.join(", ")})`),
  ),
})).expr;

function jsonataAccepts(source: string): boolean {
  try {
    jsonata(source);
    return true;
  } catch {
    return false;
  }
}

describe("fastParse", () => {
  it("gives exactly JSONata's AST for every expression of the subset", () => {
    let valid = 0;
    let parsed = 0;
    fc.assert(
      fc.property(expression, (source) => {
        const fast = fastParse(source);
        if (!jsonataAccepts(source)) {
          expect(fast).toBeUndefined();
          return;
        }
        valid++;
        if (fast === undefined) return;
        parsed++;
        expect(JSON.stringify(fast)).toBe(JSON.stringify(jsonataAst(source)));
      }),
      { numRuns: 1500 },
    );
    // The generator stays inside the subset except where JSONata itself reads names as keywords.
    expect(parsed / valid).toBeGreaterThan(0.9);
  });

  it("covers the expressions boards are mostly made of", () => {
    const common = [
      "event.applicationId",
      "command.coverage.sumInsured > 5000000",
      "$round(command.amount * 1.05, 2)",
      "event.applicant.firstName & ' ' & event.applicant.lastName",
      "state.total + event.amount",
      "$not(state.registered)",
      "command.sumInsured > 1000000 ? 'high' : command.sumInsured > 250000 ? 'medium' : 'low'",
      "'submitted'",
      "-1.5",
      "$now()",
    ];
    for (const source of common) {
      const fast = fastParse(source);
      expect(fast, source).toBeDefined();
      expect(JSON.stringify(fast)).toBe(JSON.stringify(jsonataAst(source)));
    }
  });

  it("leaves everything outside the subset to JSONata", () => {
    for (const source of [
      "event.lines[price > 10]",
      "[1, 2]",
      "{ 'a': 1 }",
      "$x := 1",
      "event.`odd name`",
      "'esc\\'aped'",
      "/regex/",
      "a in [1]",
      "event.*",
      "a ~> $string()",
      "function($x) { $x }",
      "event.(",
      "a b",
      "",
    ]) {
      expect(fastParse(source), source).toBeUndefined();
    }
  });
});
