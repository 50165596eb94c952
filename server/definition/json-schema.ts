import { z } from "zod";
import { processDefinitionV1Schema } from "./v1.ts";

export const PROCESS_DEFINITION_SCHEMA_PATH = "public/schemas/process-definition.v1.json";

/** The JSON Schema of process definition v1, as committed at PROCESS_DEFINITION_SCHEMA_PATH. */
export function processDefinitionJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(processDefinitionV1Schema, { target: "draft-2020-12" }) as Record<string, unknown>;
}

export function processDefinitionJsonSchemaText(): string {
  return `${JSON.stringify(processDefinitionJsonSchema(), null, 2)}\n`;
}
