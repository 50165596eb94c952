/**
 * Validates a payload against the JSON Schema subset message payloads are written in
 * (PayloadSchemaV1), listing every violation with its path rather than stopping at the first.
 */
import type { PayloadPropertyV1, PayloadSchemaV1 } from "../../definition/v1.ts";

// RFC 3339 date-time, as JSON Schema's "date-time" format means it.
const DATE_TIME = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

function typeOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  return typeof value;
}

function checkProperty(property: PayloadPropertyV1, value: unknown, path: string, violations: string[]): void {
  switch (property.type) {
    case "string":
      if (typeof value !== "string") {
        violations.push(`${path}: expected a string, got ${typeOf(value)}`);
        return;
      }
      if (property.format === "date-time" && (!DATE_TIME.test(value) || Number.isNaN(Date.parse(value)))) {
        violations.push(`${path}: expected a date-time (RFC 3339), got ${JSON.stringify(value)}`);
      }
      if (property.enum && !property.enum.includes(value)) {
        violations.push(`${path}: must be one of ${property.enum.map((option) => JSON.stringify(option)).join(", ")}, got ${JSON.stringify(value)}`);
      }
      return;
    case "number":
      if (typeof value !== "number" || !Number.isFinite(value)) violations.push(`${path}: expected a number, got ${typeOf(value)}`);
      return;
    case "integer":
      if (typeof value !== "number" || !Number.isInteger(value)) violations.push(`${path}: expected an integer, got ${typeof value === "number" ? String(value) : typeOf(value)}`);
      return;
    case "boolean":
      if (typeof value !== "boolean") violations.push(`${path}: expected a boolean, got ${typeOf(value)}`);
      return;
    case "object":
      if (typeof value !== "object" || value === null || Array.isArray(value)) {
        violations.push(`${path}: expected an object, got ${typeOf(value)}`);
        return;
      }
      checkObject(property.properties ?? {}, property.required ?? [], value as Record<string, unknown>, path, violations);
      return;
    case "array":
      if (!Array.isArray(value)) {
        violations.push(`${path}: expected an array, got ${typeOf(value)}`);
        return;
      }
      if (property.items) value.forEach((item, index) => checkProperty(property.items!, item, `${path}[${index}]`, violations));
      return;
    default: {
      const unknownType: never = property.type;
      violations.push(`${path}: the schema names an unknown type ${String(unknownType)}`);
    }
  }
}

function checkObject(
  properties: Readonly<Record<string, PayloadPropertyV1>>,
  required: readonly string[],
  value: Record<string, unknown>,
  path: string,
  violations: string[],
): void {
  const prefix = path === "" ? "" : `${path}.`;
  for (const name of required) {
    if (value[name] === undefined) violations.push(`${prefix}${name}: is required`);
  }
  for (const [name, property] of Object.entries(properties)) {
    if (value[name] !== undefined) checkProperty(property, value[name], `${prefix}${name}`, violations);
  }
  // Additional properties are allowed, as in JSON Schema without additionalProperties.
}

/** Every violation of `schema` by `payload`, in schema order; empty when it conforms. */
export function payloadViolations(schema: PayloadSchemaV1, payload: unknown): string[] {
  const violations: string[] = [];
  if (typeof payload !== "object" || payload === null || Array.isArray(payload)) {
    return [`payload: expected an object, got ${typeOf(payload)}`];
  }
  checkObject(schema.properties, schema.required, payload as Record<string, unknown>, "", violations);
  return violations;
}
