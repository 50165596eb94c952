import { z } from "zod";
import { BOARD_SCHEMA_VERSION, boardDocumentSchema, type BoardDocument } from "./document.ts";

/**
 * Upgrades from each older schema version to the next. Add an entry when BOARD_SCHEMA_VERSION
 * goes up; never change an existing one, stored boards and exported files depend on it.
 */
export const boardMigrations: Record<number, (doc: Record<string, unknown>) => Record<string, unknown>> = {};

export class BoardDocumentError extends Error {
  override name = "BoardDocumentError";
  constructor(readonly problems: string[]) {
    super(`The board is not valid: ${problems.slice(0, 5).join("; ")}${problems.length > 5 ? ` (and ${problems.length - 5} more)` : ""}`);
  }
}

function pathOf(path: readonly PropertyKey[]): string {
  return path.reduce<string>((text, key) => (typeof key === "number" ? `${text}[${key}]` : text ? `${text}.${String(key)}` : String(key)), "");
}

/** Brings any stored or imported board up to the current schema version, or lists what is wrong. */
export function migrateBoardDocument(input: unknown): BoardDocument {
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    throw new BoardDocumentError(["the file is not a board: expected a JSON object"]);
  }
  const shapeProblems = untrustedShapeProblems(input);
  if (shapeProblems.length > 0) throw new BoardDocumentError(shapeProblems);
  let doc = input as Record<string, unknown>;
  const version = doc.schemaVersion;
  if (typeof version !== "number" || !Number.isInteger(version) || version < 1) {
    throw new BoardDocumentError(["schemaVersion: expected a whole number ≥ 1"]);
  }
  if (version > BOARD_SCHEMA_VERSION) {
    throw new BoardDocumentError([`schemaVersion: ${version} is newer than this Sagaboard understands (${BOARD_SCHEMA_VERSION})`]);
  }
  for (let v = version; v < BOARD_SCHEMA_VERSION; v++) {
    const step = boardMigrations[v];
    if (!step) throw new BoardDocumentError([`schemaVersion: no migration from version ${v}`]);
    doc = { ...step(doc), schemaVersion: v + 1 };
  }
  const parsed = boardDocumentSchema.safeParse(doc);
  if (!parsed.success) {
    throw new BoardDocumentError(parsed.error.issues.map((issue) => `${pathOf(issue.path) || "board"}: ${issue.message}`));
  }
  const problems = integrityProblems(parsed.data);
  if (problems.length > 0) throw new BoardDocumentError(problems);
  return parsed.data;
}

/** Deeper than any board needs; deeper input would exhaust the validator's stack. */
export const MAX_BOARD_NESTING = 40;
const forbiddenKeys = new Set(["__proto__", "constructor", "prototype"]);

/**
 * Checks made before the schema sees an imported file: nesting depth (the payload schema is
 * recursive) and keys that would reach an object's prototype if some later code copied them.
 */
export function untrustedShapeProblems(input: unknown): string[] {
  const problems: string[] = [];
  const walk = (value: unknown, path: string, depth: number): void => {
    if (problems.length >= 20 || typeof value !== "object" || value === null) return;
    if (depth > MAX_BOARD_NESTING) {
      problems.push(`${path || "board"}: nested more than ${MAX_BOARD_NESTING} levels deep`);
      return;
    }
    if (Array.isArray(value)) {
      value.forEach((item, index) => walk(item, `${path}[${index}]`, depth + 1));
      return;
    }
    for (const key of Object.keys(value)) {
      const at = path ? `${path}.${key}` : key;
      if (forbiddenKeys.has(key)) problems.push(`${at}: "${key}" is not allowed as a name`);
      else walk((value as Record<string, unknown>)[key], at, depth + 1);
    }
  };
  walk(input, "", 0);
  return problems;
}

/** What the schema cannot say: ids unique, edges and parents pointing at nodes that exist. */
export function integrityProblems(doc: BoardDocument): string[] {
  const problems: string[] = [];
  const kinds = new Map<string, string>();
  doc.nodes.forEach((node, index) => {
    if (kinds.has(node.id)) problems.push(`nodes[${index}].id: "${node.id}" is used twice`);
    kinds.set(node.id, node.type);
  });
  doc.nodes.forEach((node, index) => {
    if (node.parentId === undefined) return;
    const parentKind = kinds.get(node.parentId);
    if (parentKind === undefined) problems.push(`nodes[${index}].parentId: no node "${node.parentId}"`);
    else if (parentKind !== "context") problems.push(`nodes[${index}].parentId: "${node.parentId}" is a ${parentKind}, not a context`);
    else if (node.type === "context") problems.push(`nodes[${index}].parentId: contexts cannot be nested`);
  });
  const edgeIds = new Set<string>();
  doc.edges.forEach((edge, index) => {
    if (edgeIds.has(edge.id)) problems.push(`edges[${index}].id: "${edge.id}" is used twice`);
    edgeIds.add(edge.id);
    if (!kinds.has(edge.source)) problems.push(`edges[${index}].source: no node "${edge.source}"`);
    if (!kinds.has(edge.target)) problems.push(`edges[${index}].target: no node "${edge.target}"`);
  });
  return problems;
}

export const boardFileSchema = z.object({ name: z.string().min(1).max(120), description: z.string().max(4000).optional(), document: z.unknown() });
