import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { clearExpressionCaches, evaluateExpression, parseExpression } from "./expressions.ts";

const limits = { timeoutMs: 1000, maxDepth: 200 };

describe("parseExpression", () => {
  it("returns the compiled expression for valid JSONata", () => {
    const result = parseExpression("$round(event.amount * 1.2, 2)");
    expect(result.ok).toBe(true);
    if (result.ok) expect(result.compiled.ast.type).toBe("function");
  });

  it.each([
    ["event.amount +", "S0207", 14],
    ["(event.a", "S0203", 8],
    ["event.a ]", "S0201", 9],
    ["'unterminated", "S0101", 13],
    ["", "S0207", 0],
  ])("reports %j as a syntax error with its code and position", (source, code, position) => {
    const result = parseExpression(source);
    expect(result).toMatchObject({ ok: false, code, position });
    if (!result.ok) expect(result.error.length).toBeGreaterThan(0);
  });

  it("caches: the same text gives the same compiled object", () => {
    clearExpressionCaches();
    const first = parseExpression("event.x & 'y'");
    expect(parseExpression("event.x & 'y'")).toBe(first);
    clearExpressionCaches();
    expect(parseExpression("event.x & 'y'")).not.toBe(first);
  });
});

describe("evaluateExpression", () => {
  it("evaluates against the input object and returns plain JSON", async () => {
    const input = { event: { lines: [{ price: 2, qty: 3 }, { price: 5, qty: 1 }] } };
    const total = await evaluateExpression("$sum(event.lines.(price * qty))", input, limits);
    expect(total).toEqual({ ok: true, value: 11 });
    const doubled = await evaluateExpression("[event.lines.price].($ * 2)", input, limits);
    expect(doubled).toEqual({ ok: true, value: [4, 10] });
    if (doubled.ok) expect(Object.keys(doubled.value as object)).toEqual(["0", "1"]);
  });

  it("accepts a parsed expression as well as source text", async () => {
    const parsed = parseExpression("command.userName & '!'");
    if (!parsed.ok) throw new Error("expected a valid expression");
    expect(await evaluateExpression(parsed.compiled, { command: { userName: "ada" } }, limits)).toEqual({ ok: true, value: "ada!" });
  });

  it("stops a runaway loop at the time limit", async () => {
    const started = Date.now();
    const result = await evaluateExpression("($loop := function($n) { $loop($n + 1) }; $loop(0))", {}, { timeoutMs: 100, maxDepth: 10_000 });
    expect(result).toMatchObject({ ok: false, failure: "timeout", code: "D1012" });
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it("stops unbounded recursion at the depth limit", async () => {
    const result = await evaluateExpression("($deep := function($n) { 1 + $deep($n + 1) }; $deep(0))", {}, { timeoutMs: 5_000, maxDepth: 60 });
    expect(result).toMatchObject({ ok: false, failure: "depth", code: "D1011" });
  });

  it("allows legitimate recursion within the depth limit", async () => {
    const factorial = "($f := function($n) { $n <= 1 ? 1 : $n * $f($n - 1) }; $f(10))";
    expect(await evaluateExpression(factorial, {}, { timeoutMs: 1000, maxDepth: 500 })).toEqual({ ok: true, value: 3628800 });
  });

  it("stops sequences that grow past the limit", async () => {
    const result = await evaluateExpression("$map([1..5000], function($v) { $v })", {}, { ...limits, maxSequence: 1000 });
    expect(result).toMatchObject({ ok: false, failure: "sequence", code: "D2015" });
  });

  it("reports syntax and evaluation errors without throwing", async () => {
    expect(await evaluateExpression("event.(", {}, limits)).toMatchObject({ ok: false, failure: "syntax" });
    expect(await evaluateExpression("$number('not a number')", {}, limits)).toMatchObject({ ok: false, failure: "error", code: "D3030" });
  });

  it("calls the async functions it is given for this evaluation only, within the time limit", async () => {
    const row = async (key: string) => (key === "LAMP" ? { onHand: 3 } : undefined);
    expect(await evaluateExpression("$row('LAMP').onHand + 1", {}, limits, { row })).toEqual({ ok: true, value: 4 });
    expect(await evaluateExpression("$row('SOFA').onHand", {}, limits, { row })).toEqual({ ok: true, value: undefined });
    expect(await evaluateExpression("$row('LAMP').onHand + 1", {}, limits)).toMatchObject({ ok: false, failure: "error", code: "T1006" });

    const slow = () => new Promise((resolve) => setTimeout(() => resolve(1), 20));
    const result = await evaluateExpression("$sum([1..50].($slow() + 1))", {}, { timeoutMs: 100, maxDepth: 200 }, { slow });
    expect(result).toMatchObject({ ok: false, failure: "timeout", code: "D1012" });
  });

  it("sees only its input: no JavaScript globals", async () => {
    expect(await evaluateExpression("process", {}, limits)).toEqual({ ok: true, value: undefined });
    expect(await evaluateExpression("$exists(globalThis)", {}, limits)).toEqual({ ok: true, value: false });
  });
});

describe("plain paths and literals, evaluated without JSONata's evaluator", () => {
  const names = ["a", "b", "event", "__proto__", "constructor", "length", "toString"];
  /** What JSONata's evaluator gives: in parentheses, the expression is a block, which always goes to it. */
  const byJsonata = async (source: string, input: unknown) => evaluateExpression(`(${source})`, input, limits);

  it("give what JSONata gives, for any input (arrays and primitives on the way included)", async () => {
    const input = fc.object({ key: fc.constantFrom(...names), maxDepth: 3, withNullPrototype: false });
    const path = fc.array(fc.constantFrom(...names), { minLength: 1, maxLength: 4 }).map((parts) => parts.join("."));
    await fc.assert(
      fc.asyncProperty(path, input, async (source, value) => {
        expect(await evaluateExpression(source, value, limits)).toEqual(await byJsonata(source, value));
      }),
      { numRuns: 400 },
    );
  });

  it.each([
    ["event.__proto__", { event: { a: 1 } }],
    ["event.constructor.name", { event: {} }],
    ["event.a.length", { event: { a: "text" } }],
    ["event.a", { event: { a: [1] } }],
    ["event.a.b", { event: { a: [{ b: 1 }, { b: 2 }] } }],
    ["event.a", { event: null }],
    ["'a literal'", {}],
    ["42", {}],
    // Found by the property above: JSON.parse keeps "__proto__" as an ordinary key.
    ["__proto__", JSON.parse('{"__proto__":{"constructor":{},"__proto__":[]}}')],
  ])("%s gives what JSONata gives", async (source, input) => {
    expect(await evaluateExpression(source, input, limits)).toEqual(await byJsonata(source, input));
  });

  it("keeps a payload's __proto__ key as data, on both paths", async () => {
    const payload = JSON.parse('{"order":{"__proto__":{"admin":true},"id":7}}');
    for (const source of ["order", "(order)"]) {
      const result = await evaluateExpression(source, payload, limits);
      expect(JSON.stringify(result)).toBe('{"ok":true,"value":{"__proto__":{"admin":true},"id":7}}');
      expect(Object.getPrototypeOf((result as { value: object }).value)).toBe(Object.prototype);
    }
  });
});
