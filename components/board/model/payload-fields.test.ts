import { describe, expect, it } from "vitest";
import { payloadSchemaSchema, type PayloadSchema } from "@/server/board/document.ts";
import { fieldNameProblem, fieldsFromSchema, newField, schemaFromFields } from "./payload-fields.ts";

describe("payload fields ⇄ JSON Schema", () => {
  const schema: PayloadSchema = {
    type: "object",
    properties: {
      userId: { type: "string", description: "who" },
      age: { type: "integer" },
      at: { type: "string", format: "date-time" },
      tier: { type: "string", enum: ["gold", "silver"] },
      address: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
      tags: { type: "array", items: { type: "string" } },
      lines: { type: "array", items: { type: "object", properties: { qty: { type: "number" } }, required: [] } },
    },
    required: ["userId", "at"],
  };

  it("reads every field type and round-trips to the same schema", () => {
    const fields = fieldsFromSchema(schema);
    expect(fields.map((field) => [field.name, field.type, field.required])).toEqual([
      ["userId", "string", true],
      ["age", "integer", false],
      ["at", "date-time", true],
      ["tier", "enum", false],
      ["address", "object", false],
      ["tags", "array", false],
      ["lines", "array", false],
    ]);
    expect(fields[3]!.values).toEqual(["gold", "silver"]);
    expect(fields[6]!.items).toBe("object");
    expect(fields[6]!.fields.map((field) => field.name)).toEqual(["qty"]);
    expect(schemaFromFields(fields)).toEqual(schema);
    expect(payloadSchemaSchema.safeParse(schemaFromFields(fields)).success).toBe(true);
  });

  it("writes a valid schema when a field changes type", () => {
    const fields = fieldsFromSchema(schema).map((field) => (field.name === "age" ? { ...field, type: "enum" as const } : field));
    const written = schemaFromFields(fields);
    expect(written.properties.age).toEqual({ type: "string", enum: ["value"] });
    expect(payloadSchemaSchema.safeParse(written).success).toBe(true);
  });

  it("names new fields uniquely and checks names", () => {
    const fields = fieldsFromSchema(schema);
    expect(newField([...fields, { ...newField([]), name: "field8" }]).name).toBe("field9");
    expect(fieldNameProblem("", fields)).toBe("a field needs a name");
    expect(fieldNameProblem("2fast", fields)).toContain("letters, digits and _");
    expect(fieldNameProblem("userId", fields)).toContain("already");
    expect(fieldNameProblem("email", fields)).toBeUndefined();
  });
});
