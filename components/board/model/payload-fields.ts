/**
 * The payload editor works on a list of fields; the board stores JSON Schema. These convert
 * between the two without losing anything the editor can express.
 */
import type { FieldType, PayloadProperty, PayloadSchema } from "@/server/board/document.ts";

export interface PayloadField {
  name: string;
  type: FieldType;
  required: boolean;
  description: string;
  /** For enum fields. */
  values: string[];
  /** For array fields: the type of each item. */
  items: FieldType;
  /** For object fields (and arrays of objects). */
  fields: PayloadField[];
}

export const FIELD_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function fieldTypeOf(property: PayloadProperty): FieldType {
  if (property.type === "string" && property.format === "date-time") return "date-time";
  if (property.type === "string" && property.enum) return "enum";
  return property.type;
}

function fieldsOf(properties: Record<string, PayloadProperty> | undefined, required: readonly string[] | undefined): PayloadField[] {
  return Object.entries(properties ?? {}).map(([name, property]) => fieldFrom(name, property, required?.includes(name) ?? false));
}

function fieldFrom(name: string, property: PayloadProperty, required: boolean): PayloadField {
  const items = property.items;
  return {
    name,
    type: fieldTypeOf(property),
    required,
    description: property.description ?? "",
    values: property.enum ?? [],
    items: items ? fieldTypeOf(items) : "string",
    fields: property.type === "object" ? fieldsOf(property.properties, property.required) : items?.type === "object" ? fieldsOf(items.properties, items.required) : [],
  };
}

export function fieldsFromSchema(schema: PayloadSchema): PayloadField[] {
  return fieldsOf(schema.properties, schema.required);
}

function objectProperty(fields: readonly PayloadField[]): PayloadProperty {
  return { type: "object", properties: propertiesOf(fields), required: fields.filter((field) => field.required).map((field) => field.name) };
}

function propertyOfType(type: FieldType, field: PayloadField): PayloadProperty {
  switch (type) {
    case "string":
    case "number":
    case "integer":
    case "boolean":
      return { type };
    case "date-time":
      return { type: "string", format: "date-time" };
    case "enum":
      return { type: "string", enum: field.values.length > 0 ? field.values : ["value"] };
    case "object":
      return objectProperty(field.fields);
    case "array":
      return { type: "array", items: field.items === "array" ? { type: "array", items: { type: "string" } } : propertyOfType(field.items, field) };
    default: {
      const unreachable: never = type;
      return unreachable;
    }
  }
}

export function propertyOf(field: PayloadField): PayloadProperty {
  const property = propertyOfType(field.type, field);
  return field.description ? { ...property, description: field.description } : property;
}

function propertiesOf(fields: readonly PayloadField[]): Record<string, PayloadProperty> {
  const properties: Record<string, PayloadProperty> = {};
  for (const field of fields) properties[field.name] = propertyOf(field);
  return properties;
}

export function schemaFromFields(fields: readonly PayloadField[]): PayloadSchema {
  return { type: "object", properties: propertiesOf(fields), required: fields.filter((field) => field.required).map((field) => field.name) };
}

export function newField(existing: readonly PayloadField[]): PayloadField {
  let index = existing.length + 1;
  while (existing.some((field) => field.name === `field${index}`)) index++;
  return { name: `field${index}`, type: "string", required: true, description: "", values: [], items: "string", fields: [] };
}

/** Why a field name cannot be used, or undefined when it can. */
export function fieldNameProblem(name: string, others: readonly PayloadField[]): string | undefined {
  if (name === "") return "a field needs a name";
  if (!FIELD_NAME.test(name)) return "letters, digits and _ only, not starting with a digit";
  if (others.some((field) => field.name === name)) return `there is already a field "${name}"`;
  return undefined;
}
