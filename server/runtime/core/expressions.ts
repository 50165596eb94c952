/**
 * The runtime's use of the JSONata evaluator: one set of limits, mappings evaluated field by
 * field, and failures turned into a typed error that names the element and field at fault.
 */
import { evaluateExpression, type EvaluationLimits, type ExpressionFunctions } from "../../definition/expressions.ts";
import type { Expression, Mapping } from "../../definition/v1.ts";
import type { Payload } from "./types.ts";

export const RUNTIME_EVALUATION_LIMITS: EvaluationLimits = { timeoutMs: 250, maxDepth: 200, maxSequence: 100_000 };

/**
 * An expression of the definition failed at run time. It is deterministic (the same input fails
 * the same way), so a message that hits it is parked at once rather than retried.
 */
export class ExpressionFailure extends Error {
  override name = "ExpressionFailure";
  readonly permanent = true;
  constructor(
    readonly where: string,
    readonly source: string,
    readonly reason: string,
  ) {
    super(`${where}: ${JSON.stringify(source)} failed: ${reason}`);
  }
}

export async function evaluate(source: string, input: unknown, where: string, functions?: ExpressionFunctions): Promise<unknown> {
  const result = await evaluateExpression(source, input, RUNTIME_EVALUATION_LIMITS, functions);
  if (!result.ok) throw new ExpressionFailure(where, source, `${result.failure} (${result.code}) ${result.message}`);
  return result.value;
}

/** JSONata truthiness is JavaScript's for the values it returns; undefined (no match) is false. */
export async function holds(expression: Expression | null, input: unknown, where: string, functions?: ExpressionFunctions): Promise<boolean> {
  if (expression === null) return true;
  const value = await evaluate(expression.source, input, where, functions);
  if (Array.isArray(value)) return value.length > 0;
  return Boolean(value);
}

/** Evaluates every field of a mapping; fields that evaluate to nothing are left out. */
export async function applyMapping(mapping: Mapping, input: unknown, where: string, functions?: ExpressionFunctions): Promise<Payload> {
  const output: Payload = {};
  for (const [field, source] of Object.entries(mapping.fields)) {
    const value = await evaluate(source, input, `${where}, field ${field}`, functions);
    if (value !== undefined) output[field] = value;
  }
  return output;
}

/** A correlation key or aggregate id: a non-empty string or a finite number, as text. */
export async function evaluateKey(expression: Expression, input: unknown, where: string): Promise<string> {
  const value = await evaluate(expression.source, input, where);
  if (typeof value === "string" && value.length > 0 && value.length <= 400) return value;
  if (typeof value === "number" && Number.isFinite(value)) return String(value);
  throw new ExpressionFailure(where, expression.source, `gave ${JSON.stringify(value) ?? "nothing"}, not a non-empty string (at most 400 characters) or a number`);
}
