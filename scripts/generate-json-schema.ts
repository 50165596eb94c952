/**
 * Writes the JSON Schema of process definition v1 (generated from the zod schema) to
 * public/schemas/process-definition.v1.json, where Next serves it at /schemas/process-definition.v1.json.
 *   npx tsx scripts/generate-json-schema.ts
 */
import { writeFileSync } from "node:fs";
import path from "node:path";
import { PROCESS_DEFINITION_SCHEMA_PATH, processDefinitionJsonSchemaText } from "../server/definition/json-schema.ts";

const target = path.resolve(import.meta.dirname, "..", PROCESS_DEFINITION_SCHEMA_PATH);
writeFileSync(target, processDefinitionJsonSchemaText());
console.log(`wrote ${path.relative(process.cwd(), target)}`);
