/**
 * JSONata expressions: parsing for the designer and the compiler, bounded evaluation for the
 * runtime. JSONata interprets its own AST; nothing here uses eval or new Function, and an
 * expression sees nothing but the input object it is given.
 *
 * Time and depth are bounded with JSONata 2.2's own guardrails (the `timeout`, `stack` and
 * `sequence` options of `jsonata()`, errors D1012, D1011 and D2015). They replaced the
 * `__evaluate_entry` / `__evaluate_exit` callbacks the JSONata exerciser used for the same job:
 * the check runs on entry to every AST node evaluation, so a runaway loop or recursion stops at
 * the next node it evaluates.
 */
import jsonata from "jsonata";
import { fastParse } from "./fast-parse.ts";

/** JSONata's AST as its parser builds it (jsonata.d.ts declares only part of it). */
export interface ExpressionNode {
  type: string;
  value?: unknown;
  position?: number;
  steps?: ExpressionNode[];
  stages?: ExpressionNode[];
  predicate?: ExpressionNode[];
  group?: { lhs: [ExpressionNode, ExpressionNode][] };
  expressions?: ExpressionNode[];
  arguments?: ExpressionNode[];
  procedure?: ExpressionNode;
  lhs?: ExpressionNode | [ExpressionNode, ExpressionNode][];
  rhs?: ExpressionNode;
  expression?: ExpressionNode;
  expr?: ExpressionNode;
  condition?: ExpressionNode;
  then?: ExpressionNode;
  else?: ExpressionNode;
  body?: ExpressionNode;
  pattern?: ExpressionNode;
  update?: ExpressionNode;
  delete?: ExpressionNode;
}

export interface CompiledExpression {
  readonly source: string;
  readonly ast: ExpressionNode;
}

export type ParseResult =
  | { ok: true; compiled: CompiledExpression }
  /** position: character offset (0-based) at which JSONata detected the problem. */
  | { ok: false; error: string; position: number; code: string };

const MAX_CACHED = 20_000;
const parseCache = new Map<string, ParseResult>();

function remember<V>(cache: Map<string, V>, key: string, value: V): V {
  if (cache.size >= MAX_CACHED) {
    const oldest = cache.keys().next();
    if (!oldest.done) cache.delete(oldest.value);
  }
  cache.set(key, value);
  return value;
}

/** Parses (or finds in the cache) a JSONata expression. Never throws. */
export function parseExpression(source: string): ParseResult {
  const cached = parseCache.get(source);
  if (cached) return cached;
  return remember(parseCache, source, parseUncached(source));
}

function parseUncached(source: string): ParseResult {
  const fast = fastParse(source);
  if (fast) return { ok: true, compiled: { source, ast: fast } };
  try {
    return { ok: true, compiled: { source, ast: jsonata(source).ast() as unknown as ExpressionNode } };
  } catch (thrown) {
    const problem = thrown as { code?: unknown; position?: unknown; message?: unknown; token?: unknown };
    const message = typeof problem.message === "string" ? problem.message : "invalid expression";
    return {
      ok: false,
      error: message,
      position: typeof problem.position === "number" ? problem.position : 0,
      code: typeof problem.code === "string" ? problem.code : "S0000",
    };
  }
}

/** Empties the parse and evaluation caches (benchmarks measure cold compiles). */
export function clearExpressionCaches(): void {
  parseCache.clear();
  evaluatorCache.clear();
}

export interface EvaluationLimits {
  /** Wall-clock budget for one evaluation. */
  timeoutMs: number;
  /** Maximum nesting of AST node evaluations (recursion depth). */
  maxDepth: number;
  /** Maximum length of a sequence the expression may build; 100,000 unless given. */
  maxSequence?: number;
}

export type EvaluationFailure = "syntax" | "timeout" | "depth" | "sequence" | "error";
export type EvaluationResult =
  | { ok: true; value: unknown }
  | { ok: false; failure: EvaluationFailure; code: string; message: string; position: number | null };

const DEFAULT_MAX_SEQUENCE = 100_000;
const evaluatorCache = new Map<string, jsonata.Expression>();

function evaluatorFor(source: string, limits: EvaluationLimits): jsonata.Expression {
  const maxSequence = limits.maxSequence ?? DEFAULT_MAX_SEQUENCE;
  const key = `${limits.timeoutMs}:${limits.maxDepth}:${maxSequence}\u0000${source}`;
  const cached = evaluatorCache.get(key);
  if (cached) return cached;
  const evaluator = jsonata(source, { timeout: limits.timeoutMs, stack: limits.maxDepth, sequence: maxSequence });
  return remember(evaluatorCache, key, evaluator);
}

const failureByCode: Record<string, EvaluationFailure> = { D1012: "timeout", D1011: "depth", D2015: "sequence", U1001: "depth" };

/**
 * Functions an evaluation may call besides JSONata's own, by name without the `$` (e.g. `view`).
 * They may be async; the evaluation's time limit includes the time they take.
 */
export type ExpressionFunctions = Readonly<Record<string, (...args: never[]) => unknown>>;

/**
 * Evaluates an expression against its input object within the given limits. Never throws: a
 * syntax error, a runaway expression or a failing function comes back as a failure.
 */
export async function evaluateExpression(
  expression: CompiledExpression | string,
  input: unknown,
  limits: EvaluationLimits,
  functions?: ExpressionFunctions,
): Promise<EvaluationResult> {
  const parsed = typeof expression === "string" ? parseExpression(expression) : { ok: true as const, compiled: expression };
  if (!parsed.ok) return { ok: false, failure: "syntax", code: parsed.code, message: parsed.error, position: parsed.position };
  const direct = evaluateDirectly(parsed.compiled, input);
  if (direct) return direct;
  try {
    // Bindings live in a frame of this one evaluation, so the cached evaluator stays shared.
    const value: unknown = await evaluatorFor(parsed.compiled.source, limits).evaluate(input, functions as Record<string, unknown> | undefined);
    return { ok: true, value: toJsonValue(value) };
  } catch (thrown) {
    if (thrown instanceof RangeError) {
      return { ok: false, failure: "depth", code: "D1011", message: "Stack overflow: the expression recurses too deeply", position: null };
    }
    const problem = thrown as { code?: unknown; message?: unknown; position?: unknown };
    const code = typeof problem.code === "string" ? problem.code : "D0000";
    return {
      ok: false,
      failure: failureByCode[code] ?? (code.startsWith("S") ? "syntax" : "error"),
      code,
      message: typeof problem.message === "string" ? problem.message : String(thrown),
      position: typeof problem.position === "number" ? problem.position : null,
    };
  }
}

/**
 * Most expressions of a board are a literal or a plain field path (`event.order.id`). They get the
 * value JSONata would give without its evaluator, which costs far more than the lookup itself
 * (the runtime evaluates several per message). A path that meets an array, where JSONata's
 * sequence rules apply, is left to JSONata.
 */
type DirectForm = { kind: "literal"; value: unknown } | { kind: "path"; names: string[] } | null;
const directForms = new WeakMap<CompiledExpression, DirectForm>();
const PLAIN_KEYS = new Set(["type", "value", "position"]);
const isPlainNode = (node: ExpressionNode) => Object.keys(node).every((key) => PLAIN_KEYS.has(key));

function directForm(compiled: CompiledExpression): DirectForm {
  let form = directForms.get(compiled);
  if (form !== undefined) return form;
  const { ast } = compiled;
  form = null;
  if ((ast.type === "string" || ast.type === "number") && isPlainNode(ast)) form = { kind: "literal", value: ast.value };
  if (ast.type === "path" && ast.steps && Object.keys(ast).length === 2 && ast.steps.every((step) => step.type === "name" && typeof step.value === "string" && isPlainNode(step))) {
    form = { kind: "path", names: ast.steps.map((step) => step.value as string) };
  }
  directForms.set(compiled, form);
  return form;
}

function evaluateDirectly(compiled: CompiledExpression, input: unknown): EvaluationResult | undefined {
  const form = directForm(compiled);
  if (!form) return undefined;
  if (form.kind === "literal") return { ok: true, value: form.value };
  let current = input;
  for (const name of form.names) {
    if (Array.isArray(current)) return undefined;
    // As JSONata: a name is an object's own property; anything else gives nothing.
    if (current === null || typeof current !== "object" || !Object.hasOwn(current, name)) return { ok: true, value: undefined };
    current = (current as Record<string, unknown>)[name];
  }
  if (Array.isArray(current)) return undefined;
  return { ok: true, value: toJsonValue(current) };
}

/** JSONata returns sequences (arrays with extra flags) and may return functions; keep plain JSON. */
function toJsonValue(value: unknown): unknown {
  if (value === null || typeof value !== "object") return typeof value === "function" ? undefined : value;
  if (Array.isArray(value)) return value.map((item) => toJsonValue(item) ?? null);
  // fromEntries defines keys: assigning "__proto__" (a key JSON.parse keeps as data) would set the prototype instead.
  return Object.fromEntries(
    Object.entries(value).flatMap(([key, item]) => {
      const converted = toJsonValue(item);
      return converted === undefined ? [] : [[key, converted]];
    }),
  );
}
