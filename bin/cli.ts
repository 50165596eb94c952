/**
 * The sagaboard command line. Exit codes: 0 done, 1 the board has errors, 2 the input or the
 * command line could not be understood.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { basename, extname } from "node:path";
import type { BoardDocument } from "../server/board/document.ts";
import { BoardDocumentError, boardFileSchema, migrateBoardDocument } from "../server/board/migrations.ts";
import { toAsyncApi } from "../server/compiler/asyncapi.ts";
import { compileBoard, type ProcessMeta } from "../server/compiler/compile.ts";
import { formatDiagnostic, hasErrors, type Diagnostic } from "../server/compiler/diagnostics.ts";
import { DefinitionFormatError, parseDefinition, serializeDefinition, type ProcessDefinitionV1 } from "../server/definition/v1.ts";
import { findTemplate, templates } from "../server/templates/index.ts";

const usage = `Usage: sagaboard <command>

  templates                               list the template ids
  template <id>                           print a template as a board file
  validate <board.json>                   check a board; exit 1 when it has errors
  compile <board.json> [-o <out.json>]    write the process definition (stdout unless -o)
  asyncapi <board-or-definition.json>     print the AsyncAPI 3.0 document

A board file is {"name", "description", "document"}; a bare board document is accepted too.
`;

/** Input that cannot be used: reported with exit code 2. */
class InputError extends Error {}

function readJson(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new InputError(`Cannot read ${path}: ${(error as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (error as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new InputError(`${path} is not valid JSON: ${(error as Error).message}`);
  }
}

const slug = (text: string) =>
  text
    .trim()
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 100) || "process";

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function readBoard(path: string, json: unknown): { meta: ProcessMeta; board: BoardDocument } {
  try {
    if (isObject(json) && "document" in json) {
      const file = boardFileSchema.safeParse(json);
      if (!file.success) throw new InputError(`${path} is not a board file: ${file.error.issues.map((issue) => `${issue.path.join(".") || "file"}: ${issue.message}`).join("; ")}`);
      return { meta: { id: slug(file.data.name), name: file.data.name, description: file.data.description ?? "" }, board: migrateBoardDocument(file.data.document) };
    }
    const name = basename(path, extname(path));
    return { meta: { id: slug(name), name }, board: migrateBoardDocument(json) };
  } catch (error) {
    if (error instanceof BoardDocumentError) throw new InputError(`${path} is not a valid board:\n  ${error.problems.join("\n  ")}`);
    throw error;
  }
}

function printDiagnostics(diagnostics: readonly Diagnostic[], write: (text: string) => void): void {
  for (const item of diagnostics) write(`${formatDiagnostic(item)}\n`);
  const count = (severity: Diagnostic["severity"], noun: string) => {
    const total = diagnostics.filter((item) => item.severity === severity).length;
    return `${total} ${noun}${total === 1 ? "" : "s"}`;
  };
  write(`${count("error", "error")}, ${count("warning", "warning")}, ${count("info", "note")}\n`);
}

const stdout = (text: string) => process.stdout.write(text);
const stderr = (text: string) => process.stderr.write(text);

function argument(args: readonly string[], position: number, what: string): string {
  const value = args[position];
  if (!value || value.startsWith("-")) throw new InputError(`Missing ${what}.\n\n${usage}`);
  return value;
}

function run(args: readonly string[]): number {
  const [command] = args;
  switch (command) {
    case undefined:
    case "help":
    case "--help":
    case "-h":
      stdout(usage);
      return command === undefined ? 2 : 0;
    case "templates":
      for (const template of templates) stdout(`${template.id}\n`);
      return 0;
    case "template": {
      const id = argument(args, 1, "template id");
      const template = findTemplate(id);
      if (!template) throw new InputError(`No template "${id}". Templates: ${templates.map((item) => item.id).join(", ")}`);
      stdout(`${JSON.stringify({ name: template.name, description: template.description, document: template.board }, null, 2)}\n`);
      return 0;
    }
    case "validate": {
      const path = argument(args, 1, "board file");
      const { meta, board } = readBoard(path, readJson(path));
      const { diagnostics } = compileBoard(board, meta);
      printDiagnostics(diagnostics, stdout);
      return hasErrors(diagnostics) ? 1 : 0;
    }
    case "compile": {
      const path = argument(args, 1, "board file");
      const outputFlag = args.indexOf("-o");
      const output = outputFlag >= 0 ? argument(args, outputFlag + 1, "output file after -o") : undefined;
      const { meta, board } = readBoard(path, readJson(path));
      const { definition, diagnostics } = compileBoard(board, meta);
      if (!definition) {
        printDiagnostics(diagnostics, stderr);
        return 1;
      }
      if (diagnostics.length > 0) printDiagnostics(diagnostics, stderr);
      if (output) writeFileSync(output, serializeDefinition(definition));
      else stdout(serializeDefinition(definition));
      return 0;
    }
    case "asyncapi": {
      const path = argument(args, 1, "board or definition file");
      const json = readJson(path);
      let definition: ProcessDefinitionV1;
      if (isObject(json) && "formatVersion" in json) {
        try {
          definition = parseDefinition(json);
        } catch (error) {
          if (error instanceof DefinitionFormatError) throw new InputError(`${path} is not a valid process definition:\n  ${error.problems.join("\n  ")}`);
          throw error;
        }
      } else {
        const { meta, board } = readBoard(path, json);
        const result = compileBoard(board, meta);
        if (!result.definition) {
          printDiagnostics(result.diagnostics, stderr);
          return 1;
        }
        definition = result.definition;
      }
      stdout(`${JSON.stringify(toAsyncApi(definition), null, 2)}\n`);
      return 0;
    }
    default:
      throw new InputError(`Unknown command "${command}".\n\n${usage}`);
  }
}

try {
  process.exitCode = run(process.argv.slice(2));
} catch (error) {
  if (!(error instanceof InputError)) throw error;
  stderr(`sagaboard: ${error.message}\n`);
  process.exitCode = 2;
}
