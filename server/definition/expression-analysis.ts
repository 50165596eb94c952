/**
 * Static reading of JSONata expressions: which input fields they reference and what type of
 * value they produce, so the compiler can check mappings against payload schemas before anything
 * runs. It is conservative: whatever it cannot be sure of is `unknown` and never reported.
 */
import type { ExpressionNode } from "./expressions.ts";
import type { PayloadPropertyV1, PayloadSchemaV1 } from "./v1.ts";

export type ValueShape =
  | { kind: "unknown" }
  | { kind: "string"; enum?: readonly string[]; format?: "date-time"; literal?: string }
  | { kind: "number"; literal?: number }
  | { kind: "integer"; literal?: number }
  | { kind: "boolean" }
  | { kind: "null" }
  | { kind: "array"; items: ValueShape }
  /** closed: the listed fields are all there is (a payload schema); open: anything may be inside. */
  | { kind: "object"; fields: Readonly<Record<string, ValueShape>>; closed: boolean; label?: string };

export const unknownShape: ValueShape = { kind: "unknown" };

/** A field path read from one of the input object's roots, e.g. event.applicant.name. */
export interface FieldReference {
  root: string;
  path: string[];
  /** JSONata position (end offset) of the last name in the path. */
  position: number;
}

export interface ExpressionFacts {
  references: FieldReference[];
  /** Names of the $functions the expression calls. */
  calls: string[];
  /** Every `$view(name, key)` call; readModel is null when the name is not a string literal. */
  viewReads: ViewRead[];
}

/** The runtime binds `$view(readModelName, key)` in aggregate rules: the row of one of the context's read models. */
export const VIEW_FUNCTION = "view";

export interface ViewRead {
  readModel: string | null;
  /** JSONata position of the name argument (or of the call when it has none). */
  position: number;
  /** Field names read from the row right after the call, e.g. ["onHand"] in `$view('StockLevels', sku).onHand`. */
  path: string[];
  /** JSONata position of the last name in path. */
  pathPosition: number;
}

/** The field path that follows a `$view(...)` call opening a path, keyed by the call node. */
const rowPaths = new WeakMap<ExpressionNode, { path: string[]; position: number }>();

function noteRowPath(node: ExpressionNode): void {
  const [first, ...rest] = node.steps ?? [];
  if (first?.type !== "function" || first.procedure?.type !== "variable" || first.procedure.value !== VIEW_FUNCTION) return;
  if (first.stages || first.predicate || first.group) return;
  const path: string[] = [];
  let position = first.position ?? 0;
  for (const step of rest) {
    if (step.type !== "name") break;
    path.push(String(step.value));
    position = step.position ?? position;
    if (step.stages || step.predicate || step.group) break;
  }
  rowPaths.set(first, { path, position });
}

const factsCache = new WeakMap<ExpressionNode, ExpressionFacts>();

/** The fields an expression reads from its input object, and the functions it calls. */
export function expressionFacts(ast: ExpressionNode): ExpressionFacts {
  const cached = factsCache.get(ast);
  if (cached) return cached;
  const facts: ExpressionFacts = { references: [], calls: [], viewReads: [] };
  visit(ast as ExpressionNode, true, facts);
  factsCache.set(ast, facts);
  return facts;
}

/**
 * atRoot: the node is evaluated against the input object itself. Inside later path steps,
 * filters, lambdas and transforms the context is something else, and names there are not checked.
 */
function visit(node: ExpressionNode | undefined, atRoot: boolean, facts: ExpressionFacts): void {
  if (!node || typeof node !== "object") return;
  switch (node.type) {
    case "path": {
      const steps = node.steps ?? [];
      const first = steps[0];
      noteRowPath(node);
      if (atRoot && first?.type === "name") {
        const path: string[] = [];
        let position = first.position ?? 0;
        for (const step of steps.slice(1)) {
          if (step.type !== "name") break;
          path.push(String(step.value));
          position = step.position ?? position;
          if (step.stages || step.predicate || step.group) break;
        }
        facts.references.push({ root: String(first.value), path, position });
      }
      steps.forEach((step, index) => {
        if (index === 0 && step.type !== "name") visit(step, atRoot, facts);
        else visitInner(step, facts);
      });
      visitGroup(node, facts);
      return;
    }
    case "binary":
      visit(node.lhs as ExpressionNode, atRoot, facts);
      visit(node.rhs as ExpressionNode, atRoot, facts);
      break;
    case "unary":
      if (node.value === "{") {
        for (const [key, value] of (node.lhs as [ExpressionNode, ExpressionNode][] | undefined) ?? []) {
          visit(key, atRoot, facts);
          visit(value, atRoot, facts);
        }
      } else if (node.value === "[") {
        for (const item of node.expressions ?? []) visit(item as ExpressionNode, atRoot, facts);
      } else {
        visit(node.expression, atRoot, facts);
      }
      break;
    case "function":
    case "partial":
      if (node.procedure?.type === "variable") noteCall(node, facts);
      else visit(node.procedure as ExpressionNode, atRoot, facts);
      for (const argument of node.arguments ?? []) visit(argument as ExpressionNode, atRoot, facts);
      break;
    case "condition":
      visit(node.condition, atRoot, facts);
      visit(node.then, atRoot, facts);
      visit(node.else, atRoot, facts);
      break;
    case "block":
      for (const expression of node.expressions ?? []) visit(expression as ExpressionNode, atRoot, facts);
      break;
    case "bind":
    case "apply":
      visit(node.lhs as ExpressionNode, atRoot, facts);
      visit(node.rhs as ExpressionNode, atRoot, facts);
      break;
    case "lambda":
      visitInner(node.body, facts);
      break;
    case "transform":
      visitInner(node.pattern, facts);
      visitInner(node.update, facts);
      visitInner(node.delete, facts);
      break;
    default:
      break;
  }
  for (const predicate of node.predicate ?? []) visitInner(predicate.expr ?? predicate, facts);
  visitGroup(node, facts);
}

function visitGroup(node: ExpressionNode, facts: ExpressionFacts): void {
  for (const [key, value] of node.group?.lhs ?? []) {
    visitInner(key, facts);
    visitInner(value, facts);
  }
}

function noteCall(node: ExpressionNode, facts: ExpressionFacts): void {
  const name = String(node.procedure?.value);
  facts.calls.push(name);
  if (name !== VIEW_FUNCTION) return;
  const first = node.arguments?.[0];
  const position = first?.position ?? node.procedure?.position ?? node.position ?? 0;
  const row = rowPaths.get(node);
  facts.viewReads.push({ readModel: first?.type === "string" ? String(first.value) : null, position, path: row?.path ?? [], pathPosition: row?.position ?? position });
}

/** Walks a subtree whose context is not the input object: only function calls are collected. */
function visitInner(node: ExpressionNode | undefined, facts: ExpressionFacts): void {
  if (!node || typeof node !== "object") return;
  if (node.type === "path") noteRowPath(node);
  if ((node.type === "function" || node.type === "partial") && node.procedure?.type === "variable") noteCall(node, facts);
  for (const value of Object.values(node)) {
    if (Array.isArray(value)) {
      for (const item of value) {
        if (Array.isArray(item)) item.forEach((inner) => visitInner(inner as ExpressionNode, facts));
        else visitInner(item as ExpressionNode, facts);
      }
    } else if (value && typeof value === "object" && "type" in value) {
      visitInner(value as ExpressionNode, facts);
    }
  }
  if (node.type === "filter" && node.expr) visitInner(node.expr, facts);
}

export type PathResolution =
  | { ok: true; shape: ValueShape; throughArray: boolean }
  /** missing: the path element that does not exist; owner: what was searched (e.g. "event RiskAssessed"). */
  | { ok: false; missing: string; owner: string; known: string[] };

/** Follows a reference through an environment of root shapes. */
export function resolveReference(env: Readonly<Record<string, ValueShape>>, reference: FieldReference): PathResolution {
  const root = env[reference.root];
  if (!root) return { ok: false, missing: reference.root, owner: "the input", known: Object.keys(env) };
  let shape: ValueShape = root;
  let owner = reference.root;
  let throughArray = false;
  for (const name of reference.path) {
    while (shape.kind === "array") {
      shape = shape.items;
      throughArray = true;
    }
    if (shape.kind !== "object") return { ok: true, shape: unknownShape, throughArray };
    const next: ValueShape | undefined = shape.fields[name];
    if (!next) {
      if (!shape.closed) return { ok: true, shape: unknownShape, throughArray };
      return { ok: false, missing: name, owner: shape.label ?? owner, known: Object.keys(shape.fields) };
    }
    owner = `${owner}.${name}`;
    shape = next;
  }
  return { ok: true, shape, throughArray };
}

const functionResults: Record<string, ValueShape> = {
  string: { kind: "string" },
  substring: { kind: "string" },
  substringBefore: { kind: "string" },
  substringAfter: { kind: "string" },
  uppercase: { kind: "string" },
  lowercase: { kind: "string" },
  trim: { kind: "string" },
  pad: { kind: "string" },
  join: { kind: "string" },
  formatNumber: { kind: "string" },
  formatBase: { kind: "string" },
  formatInteger: { kind: "string" },
  base64encode: { kind: "string" },
  base64decode: { kind: "string" },
  encodeUrl: { kind: "string" },
  encodeUrlComponent: { kind: "string" },
  decodeUrl: { kind: "string" },
  decodeUrlComponent: { kind: "string" },
  now: { kind: "string", format: "date-time" },
  fromMillis: { kind: "string", format: "date-time" },
  number: { kind: "number" },
  abs: { kind: "number" },
  power: { kind: "number" },
  sqrt: { kind: "number" },
  round: { kind: "number" },
  random: { kind: "number" },
  sum: { kind: "number" },
  max: { kind: "number" },
  min: { kind: "number" },
  average: { kind: "number" },
  floor: { kind: "integer" },
  ceil: { kind: "integer" },
  count: { kind: "integer" },
  length: { kind: "integer" },
  millis: { kind: "integer" },
  toMillis: { kind: "integer" },
  boolean: { kind: "boolean" },
  not: { kind: "boolean" },
  exists: { kind: "boolean" },
  contains: { kind: "boolean" },
  split: { kind: "array", items: { kind: "string" } },
  keys: { kind: "array", items: { kind: "string" } },
  merge: { kind: "object", fields: {}, closed: false },
};

/** Functions whose result depends on the clock or chance: forbidden where replay must be exact. */
export const nondeterministicFunctions: ReadonlySet<string> = new Set(["now", "millis", "random"]);

const numericOperators = new Set(["+", "-", "*", "/", "%"]);
const booleanOperators = new Set(["=", "!=", "<", "<=", ">", ">=", "and", "or", "in"]);

/** The type of value an expression produces, as far as it can be told without running it. */
export function inferShape(ast: ExpressionNode, env: Readonly<Record<string, ValueShape>>): ValueShape {
  const node = ast as ExpressionNode;
  if (node.predicate || node.group || node.stages) return unknownShape;
  switch (node.type) {
    case "string":
      return { kind: "string", literal: String(node.value) };
    case "number":
      return Number.isInteger(node.value) ? { kind: "integer", literal: Number(node.value) } : { kind: "number", literal: Number(node.value) };
    case "value":
      return node.value === null ? { kind: "null" } : { kind: "boolean" };
    case "path": {
      const steps = node.steps ?? [];
      const first = steps[0];
      if (!first || first.type !== "name" || steps.some((step) => step.type !== "name" || step.stages || step.predicate || step.group)) {
        return steps.length === 1 && first ? inferShape(first, env) : unknownShape;
      }
      const resolution = resolveReference(env, { root: String(first.value), path: steps.slice(1).map((step) => String(step.value)), position: 0 });
      return resolution.ok && !resolution.throughArray ? resolution.shape : unknownShape;
    }
    case "binary": {
      const operator = String(node.value);
      if (operator === "&") return { kind: "string" };
      if (numericOperators.has(operator)) return { kind: "number" };
      if (booleanOperators.has(operator)) return { kind: "boolean" };
      if (operator === "..") return { kind: "array", items: { kind: "integer" } };
      return unknownShape;
    }
    case "unary":
      if (node.value === "-") return { kind: "number" };
      if (node.value === "[") return { kind: "array", items: unknownShape };
      if (node.value === "{") return { kind: "object", fields: {}, closed: false };
      return unknownShape;
    case "condition": {
      if (!node.then || !node.else) return unknownShape;
      const then = inferShape(node.then, env);
      const otherwise = inferShape(node.else, env);
      return then.kind === otherwise.kind && then.kind !== "object" && then.kind !== "array" ? withoutLiteral(then) : unknownShape;
    }
    case "function":
      return node.procedure?.type === "variable" ? (functionResults[String(node.procedure.value)] ?? unknownShape) : unknownShape;
    case "block": {
      const last = node.expressions?.at(-1);
      return last ? inferShape(last, env) : unknownShape;
    }
    default:
      return unknownShape;
  }
}

function withoutLiteral(shape: ValueShape): ValueShape {
  if (shape.kind === "string") return shape.enum ? { kind: "string", enum: shape.enum } : { kind: "string" };
  if (shape.kind === "number" || shape.kind === "integer") return { kind: shape.kind };
  return shape;
}

export function describeShape(shape: ValueShape): string {
  switch (shape.kind) {
    case "string":
      if (shape.literal !== undefined) return `the string "${shape.literal}"`;
      if (shape.enum) return `one of ${shape.enum.map((value) => `"${value}"`).join(", ")}`;
      return shape.format === "date-time" ? "a date-time string" : "a string";
    case "number":
      return shape.literal !== undefined ? `the number ${shape.literal}` : "a number";
    case "integer":
      return shape.literal !== undefined ? `the integer ${shape.literal}` : "an integer";
    case "boolean":
      return "a boolean";
    case "null":
      return "null";
    case "array":
      return "an array";
    case "object":
      return "an object";
    case "unknown":
      return "a value";
    default: {
      const unreachable: never = shape;
      return unreachable;
    }
  }
}

/** Why a value of shape `value` cannot go into a field of shape `target`, or null if it can. */
export function assignmentProblem(target: ValueShape, value: ValueShape): string | null {
  if (target.kind === "unknown" || value.kind === "unknown" || value.kind === "null") return null;
  switch (target.kind) {
    case "string":
      if (value.kind !== "string") return `expects a string but gets ${describeShape(value)}`;
      if (target.enum) {
        if (value.literal !== undefined && !target.enum.includes(value.literal)) {
          return `expects one of ${target.enum.map((item) => `"${item}"`).join(", ")} but gets "${value.literal}"`;
        }
        const outside = value.enum?.filter((item) => !target.enum?.includes(item)) ?? [];
        if (outside.length > 0) return `expects one of ${target.enum.map((item) => `"${item}"`).join(", ")} but may get "${outside[0]}"`;
      }
      return null;
    case "number":
      return value.kind === "number" || value.kind === "integer" ? null : `expects a number but gets ${describeShape(value)}`;
    case "integer":
      if (value.kind === "integer") return null;
      if (value.kind === "number") return value.literal !== undefined ? `expects an integer but gets ${describeShape(value)}` : null;
      return `expects an integer but gets ${describeShape(value)}`;
    case "boolean":
      return value.kind === "boolean" ? null : `expects a boolean but gets ${describeShape(value)}`;
    case "null":
      return null;
    case "array":
      return value.kind === "array" ? null : `expects an array but gets ${describeShape(value)}`;
    case "object":
      return value.kind === "object" ? null : `expects an object but gets ${describeShape(value)}`;
    default: {
      const unreachable: never = target;
      return unreachable;
    }
  }
}

export function shapeOfProperty(property: PayloadPropertyV1, label?: string): ValueShape {
  switch (property.type) {
    case "string":
      return { kind: "string", ...(property.enum ? { enum: property.enum } : {}), ...(property.format ? { format: property.format } : {}) };
    case "number":
      return { kind: "number" };
    case "integer":
      return { kind: "integer" };
    case "boolean":
      return { kind: "boolean" };
    case "array":
      return { kind: "array", items: property.items ? shapeOfProperty(property.items) : unknownShape };
    case "object": {
      if (!property.properties) return { kind: "object", fields: {}, closed: false };
      const fields: Record<string, ValueShape> = {};
      for (const [name, inner] of Object.entries(property.properties)) fields[name] = shapeOfProperty(inner);
      return { kind: "object", fields, closed: true, ...(label ? { label } : {}) };
    }
    default: {
      const unreachable: never = property.type;
      return unreachable;
    }
  }
}

/** A message payload as a closed object; label names it in messages ("event RiskAssessed"). */
export function shapeOfPayload(schema: PayloadSchemaV1, label: string): ValueShape {
  const fields: Record<string, ValueShape> = {};
  for (const [name, property] of Object.entries(schema.properties)) fields[name] = shapeOfProperty(property);
  return { kind: "object", fields, closed: true, label };
}

export type FieldTypeName = "string" | "number" | "integer" | "boolean" | "date-time" | "enum" | "object" | "array";

export function shapeOfFieldType(type: FieldTypeName): ValueShape {
  switch (type) {
    case "string":
    case "enum":
      return { kind: "string" };
    case "date-time":
      return { kind: "string", format: "date-time" };
    case "number":
      return { kind: "number" };
    case "integer":
      return { kind: "integer" };
    case "boolean":
      return { kind: "boolean" };
    case "object":
      return { kind: "object", fields: {}, closed: false };
    case "array":
      return { kind: "array", items: unknownShape };
    default: {
      const unreachable: never = type;
      return unreachable;
    }
  }
}

/** Aggregate state or a read model row: a closed object of named, typed fields. */
export function shapeOfFields(fields: readonly { name: string; type: FieldTypeName }[], label: string): ValueShape {
  const shapes: Record<string, ValueShape> = {};
  for (const field of fields) shapes[field.name] = shapeOfFieldType(field.type);
  return { kind: "object", fields: shapes, closed: true, label };
}
