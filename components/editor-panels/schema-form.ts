/**
 * Forms generated from a message's payload schema (the JSON Schema subset of PayloadSchemaV1):
 * the fields to render, sample data, and validation of what the user typed. What the user types
 * is kept as a draft (numbers as the text typed) so that a half-typed value is an error shown
 * next to its field rather than a value silently lost.
 */
import type { PayloadPropertyV1, PayloadSchemaV1 } from "@/server/definition/v1.ts";
import { payloadViolations } from "@/server/runtime/core/payload-schema.ts";
import { SAMPLE_SKUS } from "@/server/templates/sample-data.ts";

interface FieldBase {
  name: string;
  /** The payload path, as the runtime writes it in violations: `a.b`, `items[0]`. */
  path: string;
  required: boolean;
  description?: string;
}

export type FormField =
  | (FieldBase & { kind: "text" })
  | (FieldBase & { kind: "number" })
  | (FieldBase & { kind: "integer" })
  | (FieldBase & { kind: "boolean" })
  | (FieldBase & { kind: "dateTime" })
  | (FieldBase & { kind: "enum"; options: string[] })
  | (FieldBase & { kind: "object"; fields: FormField[] })
  | (FieldBase & { kind: "array"; item: PayloadPropertyV1 });

export type Draft = string | boolean | Draft[] | { [field: string]: Draft };
export type DraftObject = { [field: string]: Draft };

const childPath = (parent: string, name: string) => (parent === "" ? name : `${parent}.${name}`);

export function fieldOf(name: string, property: PayloadPropertyV1, path: string, required: boolean): FormField {
  const base = { name, path, required, ...(property.description ? { description: property.description } : {}) };
  switch (property.type) {
    case "string":
      if (property.enum) return { ...base, kind: "enum", options: property.enum };
      if (property.format === "date-time") return { ...base, kind: "dateTime" };
      return { ...base, kind: "text" };
    case "number":
      return { ...base, kind: "number" };
    case "integer":
      return { ...base, kind: "integer" };
    case "boolean":
      return { ...base, kind: "boolean" };
    case "object":
      return { ...base, kind: "object", fields: formFields({ properties: property.properties ?? {}, required: property.required ?? [] }, path) };
    case "array":
      return { ...base, kind: "array", item: property.items ?? { type: "string" } };
    default: {
      const unreachable: never = property.type;
      throw new Error(`unknown payload type ${String(unreachable)}`);
    }
  }
}

export function formFields(schema: Pick<PayloadSchemaV1, "properties" | "required">, parentPath = ""): FormField[] {
  return Object.entries(schema.properties).map(([name, property]) => fieldOf(name, property, childPath(parentPath, name), schema.required.includes(name)));
}

export const itemPath = (path: string, index: number) => `${path}[${index}]`;

/** What an empty form holds. */
export function emptyDraft(field: FormField): Draft {
  switch (field.kind) {
    case "boolean":
      return false;
    case "object":
      return Object.fromEntries(field.fields.map((child) => [child.name, emptyDraft(child)]));
    case "array":
      return [];
    case "text":
    case "number":
    case "integer":
    case "dateTime":
    case "enum":
      return "";
    default: {
      const unreachable: never = field;
      return unreachable;
    }
  }
}

export const emptyForm = (fields: FormField[]): DraftObject => Object.fromEntries(fields.map((field) => [field.name, emptyDraft(field)]));

/** `datetime-local` inputs show local time without a zone; the payload carries RFC 3339 UTC. */
export function localDateTimeInput(date: Date): string {
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

const pick = <T,>(values: readonly T[], seed: number): T => values[seed % values.length]!;

const FIRST_NAMES = ["Ada", "Grace", "Alan", "Mei", "Sofia", "Omar", "Yuki", "Lars", "Amara", "Diego"] as const;
const LAST_NAMES = ["Lovelace", "Hopper", "Turing", "Chen", "García", "Haddad", "Sato", "Nilsson", "Okafor", "Rossi"] as const;
const CITIES = ["Berlin", "Lisbon", "Oslo", "Lyon", "Utrecht", "Porto", "Graz", "Turku"] as const;
const STREETS = ["Harbour Street", "Linden Allee", "Mill Lane", "Rua das Flores", "Kings Road"] as const;
const PRODUCTS = ["Desk lamp", "Oak chair", "Wool blanket", "Tea kettle", "Bookshelf", "Floor rug"] as const;

/** `dateOfBirth` → ["date", "of", "birth"]: names are matched by their words, not substrings. */
const nameWords = (name: string): string[] =>
  name
    .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
    .split(/[\s_\-.]+/)
    .filter(Boolean)
    .map((word) => word.toLowerCase());

const asciiLower = (text: string) => text.normalize("NFD").replace(/\p{M}/gu, "").toLowerCase();

const isoDate = (date: Date) => date.toISOString().slice(0, 10);

/** Whether a field's name contains any of the words. */
const nameHasWord = (name: string[]) => (...candidates: string[]) => candidates.some((candidate) => name.includes(candidate));

function sampleText(field: FormField & { kind: "text" }, seed: number, now: Date): string {
  const name = nameWords(field.name);
  const has = nameHasWord(name);
  const last = name[name.length - 1] ?? "";
  if (has("email")) return `${asciiLower(pick(FIRST_NAMES, seed))}.${asciiLower(pick(LAST_NAMES, seed + 3))}${seed}@example.com`;
  if (has("phone", "mobile")) return `+49 30 ${String(1_000_000 + ((seed * 4_241) % 8_999_999))}`;
  if (["id", "ref", "key", "number", "reference"].includes(last) || field.name.endsWith("ref") || field.name.endsWith("Id")) return `${field.name}-${seed}`;
  if (has("first", "given")) return pick(FIRST_NAMES, seed);
  if (has("last", "surname", "family")) return pick(LAST_NAMES, seed + 3);
  if (has("birth")) return isoDate(new Date(Date.UTC(1950 + (seed % 50), seed % 12, 1 + (seed % 28))));
  if (has("date", "day") || /YYYY-MM-DD/.test(field.description ?? "")) return isoDate(now);
  if (has("postcode", "zip", "postal")) return String(10_000 + ((seed * 7_919) % 89_999));
  if (has("city", "town")) return pick(CITIES, seed);
  if (has("street", "address", "line")) return `${1 + (seed % 120)} ${pick(STREETS, seed)}`;
  if (has("country")) return pick(["DE", "PT", "NO", "FR", "NL"], seed);
  if (has("currency")) return "EUR";
  if (has("sku")) return pick(SAMPLE_SKUS, seed);
  if (has("code")) return `CODE-${String(100 + (seed % 900))}`;
  if (has("product", "item", "title")) return pick(PRODUCTS, seed);
  if (has("reason", "comment", "note", "description")) return "Requested by the customer";
  if (has("name")) return `${pick(FIRST_NAMES, seed)} ${pick(LAST_NAMES, seed + 3)}`;
  return `${name.join(" ")} ${seed}`;
}

function sampleNumber(field: FormField, seed: number): number {
  const has = nameHasWord(nameWords(field.name));
  if (has("deductible", "excess")) return pick([250, 500, 1_000, 2_500], seed);
  if (has("insured", "coverage", "cover", "limit")) return 50_000 + (seed % 20) * 25_000;
  if (has("rate", "ratio", "share", "percentage", "percent")) return Math.round(((seed % 95) + 1) / 10) / 10;
  if (has("score")) return seed % 101;
  if (has("age")) return 18 + (seed % 60);
  if (has("quantity", "qty", "count", "units")) return 1 + (seed % 9);
  if (has("price", "amount", "total", "premium", "cost", "fee")) return Math.round((20 + ((seed * 37) % 480)) * 100) / 100 + 0.99;
  return 100 + (seed % 900);
}

/** Plausible values, different for each seed, so that each generated instance gets its own key. */
export function sampleDraft(field: FormField, seed: number, now: Date): Draft {
  switch (field.kind) {
    case "text":
      return sampleText(field, seed, now);
    case "number":
      return String(sampleNumber(field, seed));
    case "integer":
      return String(Math.round(sampleNumber(field, seed)));
    case "boolean":
      return seed % 2 === 0;
    case "dateTime":
      return localDateTimeInput(now);
    case "enum":
      return field.options[seed % field.options.length]!;
    case "object":
      return Object.fromEntries(field.fields.map((child) => [child.name, sampleDraft(child, seed, now)]));
    case "array":
      return [sampleDraft(fieldOf(field.name, field.item, itemPath(field.path, 0), true), seed, now)];
    default: {
      const unreachable: never = field;
      return unreachable;
    }
  }
}

export const sampleForm = (fields: FormField[], seed: number, now: Date): DraftObject => Object.fromEntries(fields.map((field) => [field.name, sampleDraft(field, seed, now)]));

/** Field path → what is wrong with it. */
export type FieldErrors = Record<string, string>;

function valueOf(field: FormField, draft: Draft | undefined, errors: FieldErrors): unknown {
  switch (field.kind) {
    case "text":
    case "enum":
      return typeof draft === "string" && draft !== "" ? draft : undefined;
    case "number":
    case "integer": {
      const text = typeof draft === "string" ? draft.trim() : "";
      if (text === "") return undefined;
      const value = Number(text);
      if (!Number.isFinite(value)) errors[field.path] = "expected a number";
      else if (field.kind === "integer" && !Number.isInteger(value)) errors[field.path] = "expected a whole number";
      else return value;
      return undefined;
    }
    case "boolean":
      return draft === true;
    case "dateTime": {
      if (typeof draft !== "string" || draft === "") return undefined;
      const date = new Date(draft);
      if (Number.isNaN(date.getTime())) {
        errors[field.path] = "expected a date and time";
        return undefined;
      }
      return date.toISOString();
    }
    case "object": {
      const object = typeof draft === "object" && draft !== null && !Array.isArray(draft) ? draft : {};
      const value: Record<string, unknown> = {};
      for (const child of field.fields) {
        const childValue = valueOf(child, object[child.name], errors);
        if (childValue !== undefined) value[child.name] = childValue;
      }
      return value;
    }
    case "array": {
      const items = Array.isArray(draft) ? draft : [];
      return items.map((item, index) => valueOf(fieldOf(field.name, field.item, itemPath(field.path, index), true), item, errors) ?? null);
    }
    default: {
      const unreachable: never = field;
      return unreachable;
    }
  }
}

/** Splits runtime violations ("path: message") by field path. */
export function violationsByField(violations: readonly string[]): FieldErrors {
  const errors: FieldErrors = {};
  for (const violation of violations) {
    const separator = violation.indexOf(": ");
    const path = separator > 0 ? violation.slice(0, separator) : "";
    const message = separator > 0 ? violation.slice(separator + 2) : violation;
    errors[path] = errors[path] ? `${errors[path]}; ${message}` : message;
  }
  return errors;
}

/** The payload the form describes and everything wrong with it, checked as the runtime will check it. */
export function readForm(schema: PayloadSchemaV1, fields: FormField[], draft: DraftObject): { payload: Record<string, unknown>; errors: FieldErrors } {
  const errors: FieldErrors = {};
  const payload: Record<string, unknown> = {};
  for (const field of fields) {
    const value = valueOf(field, draft[field.name], errors);
    if (value !== undefined) payload[field.name] = value;
  }
  const schemaErrors = violationsByField(payloadViolations(schema, payload));
  for (const [path, message] of Object.entries(schemaErrors)) errors[path] ??= message;
  return { payload, errors };
}

/** Replaces the value at `path` (as produced by formFields/itemPath) in a draft. */
export function setDraftAt(draft: DraftObject, path: string, value: Draft): DraftObject {
  const segments = path.match(/[^.[\]]+|\[\d+\]/g) ?? [];
  const update = (current: Draft | undefined, index: number): Draft => {
    if (index === segments.length) return value;
    const segment = segments[index]!;
    if (segment.startsWith("[")) {
      const position = Number(segment.slice(1, -1));
      const list = Array.isArray(current) ? [...current] : [];
      list[position] = update(list[position], index + 1);
      return list;
    }
    const object = typeof current === "object" && current !== null && !Array.isArray(current) ? current : {};
    return { ...object, [segment]: update(object[segment], index + 1) };
  };
  return update(draft, 0) as DraftObject;
}
