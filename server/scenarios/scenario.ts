/** Scenario plumbing: a template compiled, optionally adjusted (unique channels), published and deployed. */
import { randomUUID } from "node:crypto";
import { migrateBoardDocument } from "../board/migrations.ts";
import { compileBoard } from "../compiler/compile.ts";
import type { BindingDefinition, ProcessDefinitionV1 } from "../definition/v1.ts";
import type { Runtime } from "../runtime/index.ts";
import { findTemplate } from "../templates/index.ts";

export function compileTemplate(templateId: string, boardId: string): ProcessDefinitionV1 {
  const template = findTemplate(templateId);
  if (!template) throw new Error(`no template ${templateId}`);
  const compiled = compileBoard(migrateBoardDocument(template.board), { id: boardId, name: template.name, description: template.description });
  if (!compiled.definition) throw new Error(`template ${templateId} does not compile: ${JSON.stringify(compiled.diagnostics.filter((d) => d.severity === "error"))}`);
  return compiled.definition;
}

/** Renames every bus channel/subject with a per-run suffix, so runs never hear each other. */
export function withUniqueAddresses(definition: ProcessDefinitionV1, suffix = randomUUID().slice(0, 8)): { definition: ProcessDefinitionV1; address: (original: string) => string } {
  const address = (original: string) => `${original}.${suffix}`;
  const rebind = (binding: BindingDefinition): BindingDefinition => {
    switch (binding.kind) {
      case "redis":
        return { ...binding, channel: address(binding.channel) };
      case "nats":
        return { ...binding, subject: address(binding.subject) };
      case "webhook":
      case "none":
        return binding;
      default: {
        const unknown: never = binding;
        throw new Error(`unknown binding ${JSON.stringify(unknown)}`);
      }
    }
  };
  return { definition: { ...definition, externalSystems: definition.externalSystems.map((system) => ({ ...system, binding: rebind(system.binding) })) }, address };
}

export async function publishAndDeploy(runtime: Runtime, boardId: string, definition: ProcessDefinitionV1) {
  const { version } = await runtime.publishDefinition(boardId, definition);
  return runtime.deploy(boardId, version.version);
}

/** Polls until `check` gives a value; bounded. */
export async function eventually<T>(check: () => Promise<T | undefined | false>, what: string, timeoutMs = 15_000, intervalMs = 25): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${(last as Error).message}` : ""}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
