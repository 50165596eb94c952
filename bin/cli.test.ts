import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parseDefinition } from "../server/definition/v1.ts";

const ROOT = path.resolve(import.meta.dirname, "..");
const LAUNCHER = path.join(ROOT, "bin", "sagaboard.mjs");
const GOLDEN = path.join(ROOT, "server", "compiler", "__golden__");
const work = mkdtempSync(path.join(tmpdir(), "sagaboard-cli-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

function sagaboard(...args: string[]): Promise<Outcome> {
  return new Promise((resolve) => {
    execFile(process.execPath, [LAUNCHER, ...args], { cwd: work, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr });
    });
  });
}

function file(name: string, content: string): string {
  const target = path.join(work, name);
  writeFileSync(target, content);
  return target;
}

describe("sagaboard CLI", () => {
  it("lists the templates", async () => {
    const { code, stdout } = await sagaboard("templates");
    expect(code).toBe(0);
    expect(stdout.trim().split("\n")).toEqual(expect.arrayContaining(["insurance-quote", "user-registration"]));
  });

  it("prints a template as a board file that validates and compiles to the golden definition", async () => {
    const template = await sagaboard("template", "insurance-quote");
    expect(template.code).toBe(0);
    const board = JSON.parse(template.stdout) as { name: string; document: { schemaVersion: number } };
    expect(board.name).toBe("Application Premium Process");
    expect(board.document.schemaVersion).toBe(1);
    const boardFile = file("insurance.json", template.stdout);

    const validation = await sagaboard("validate", boardFile);
    expect(validation).toMatchObject({ code: 0, stdout: "0 errors, 0 warnings, 0 notes\n" });

    const output = path.join(work, "insurance.definition.json");
    const compiled = await sagaboard("compile", boardFile, "-o", output);
    expect(compiled).toMatchObject({ code: 0, stdout: "" });
    const definition = readFileSync(output, "utf8");
    expect(parseDefinition(JSON.parse(definition)).id).toBe("application-premium-process");
    const golden = readFileSync(path.join(GOLDEN, "insurance-quote.definition.json"), "utf8");
    expect(definition.replaceAll('"application-premium-process"', '"insurance-quote"')).toBe(golden);

    const toStdout = await sagaboard("compile", boardFile);
    expect(toStdout.stdout).toBe(definition);
  });

  it("prints AsyncAPI from a board and from a definition alike", async () => {
    const boardFile = file("users.json", (await sagaboard("template", "user-registration")).stdout);
    const fromBoard = await sagaboard("asyncapi", boardFile);
    expect(fromBoard.code).toBe(0);
    expect(JSON.parse(fromBoard.stdout)).toMatchObject({ asyncapi: "3.0.0", info: { title: "User registration" } });
    const definitionFile = path.join(work, "users.definition.json");
    await sagaboard("compile", boardFile, "-o", definitionFile);
    const fromDefinition = await sagaboard("asyncapi", definitionFile);
    expect(fromDefinition).toMatchObject({ code: 0, stdout: fromBoard.stdout });
  });

  it("exits 1 with the diagnostics when the board has errors", async () => {
    const broken = path.join(GOLDEN, "broken-board.json");
    const validation = await sagaboard("validate", broken);
    expect(validation.code).toBe(1);
    expect(validation.stdout).toContain("error SB012 [node user rules] User handles UpdatePassword but has no rule for it.");
    expect(validation.stdout).toMatch(/6 errors, 1 warning, 0 notes\n$/);
    const compiled = await sagaboard("compile", broken, "-o", path.join(work, "never.json"));
    expect(compiled.code).toBe(1);
    expect(compiled.stdout).toBe("");
    expect(compiled.stderr).toContain("error SB050 [node user-directory updates[0].key@14]");
  });

  it("accepts a bare board document", async () => {
    const boardFile = JSON.parse((await sagaboard("template", "user-registration")).stdout) as { document: unknown };
    const bare = file("my-users.json", JSON.stringify(boardFile.document));
    const compiled = await sagaboard("compile", bare);
    expect(compiled.code).toBe(0);
    expect(JSON.parse(compiled.stdout)).toMatchObject({ id: "my-users", name: "my-users" });
  });

  it.each([
    ["a file that is not JSON", () => ["validate", file("garbage.json", "{ nodes: [")], /garbage\.json is not valid JSON/],
    ["a missing file", () => ["compile", path.join(work, "absent.json")], /Cannot read .*absent\.json: no such file/],
    ["a JSON file that is not a board", () => ["validate", file("list.json", "[1, 2, 3]")], /not a valid board:\n {2}the file is not a board/],
    [
      "a board with a broken node",
      () => ["compile", file("bad-node.json", JSON.stringify({ name: "X", document: { schemaVersion: 1, nodes: [{ id: "a", type: "command", position: { x: 0, y: 0 }, data: {} }], edges: [] } }))],
      /bad-node\.json is not a valid board:\n {2}nodes\[0\]\.data\.name: Invalid input/,
    ],
    ["a board file without a name", () => ["validate", file("nameless.json", JSON.stringify({ document: { schemaVersion: 1, nodes: [], edges: [] } }))], /is not a board file: name/],
    ["a definition of another format version", () => ["asyncapi", file("future.json", JSON.stringify({ formatVersion: 9 }))], /formatVersion: 9 is not supported/],
    ["an unknown template", () => ["template", "nope"], /No template "nope". Templates: insurance-quote, user-registration, insurance-quote-choreography/],
    ["an unknown command", () => ["frobnicate"], /Unknown command "frobnicate"/],
    ["a missing argument", () => ["compile"], /Missing board file/],
  ])("exits 2 with a clear message on %s", async (_, args, message) => {
    const { code, stderr, stdout } = await sagaboard(...args());
    expect(code).toBe(2);
    expect(stderr).toMatch(message);
    expect(stdout).toBe("");
  });
});
