/** The board file users export and import: `{name, description, document}`. */
import type { BoardDocument } from "./document.ts";
import { BoardDocumentError, boardFileSchema, migrateBoardDocument } from "./migrations.ts";

export interface BoardFile {
  name: string;
  description: string;
  document: BoardDocument;
}

/**
 * An exported file is `{name, description, document}`; a bare document is accepted too when the
 * importer supplies a name. Every problem with the file is reported at once.
 */
export function readBoardFile(file: unknown, nameOverride?: string): BoardFile {
  const isBareDocument = typeof file === "object" && file !== null && !Array.isArray(file) && "schemaVersion" in file && !("document" in file);
  if (isBareDocument && nameOverride !== undefined) return { name: nameOverride, description: "", document: migrateBoardDocument(file) };
  const problems: string[] = [];
  const parsed = boardFileSchema.safeParse(file);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      if (issue.path[0] === "name" && nameOverride !== undefined) continue;
      problems.push(`${issue.path.map(String).join(".") || "file"}: ${issue.message}`);
    }
  }
  const fields = typeof file === "object" && file !== null && !Array.isArray(file) ? (file as Record<string, unknown>) : {};
  let document: BoardDocument | undefined;
  if (fields.document === undefined) {
    problems.push("document: missing (an exported board file has name, description and document)");
  } else {
    try {
      document = migrateBoardDocument(fields.document);
    } catch (error) {
      if (!(error instanceof BoardDocumentError)) throw error;
      problems.push(...error.problems.map((problem) => (/^[\w[\].]+: /.test(problem) ? `document.${problem}` : `document: ${problem}`)));
    }
  }
  const name = (nameOverride ?? (typeof fields.name === "string" ? fields.name : "")).trim();
  if (name === "" && parsed.success) problems.push("name: must not be empty");
  if (problems.length > 0 || !document) throw new BoardDocumentError(problems);
  return { name, description: typeof fields.description === "string" ? fields.description : "", document };
}

