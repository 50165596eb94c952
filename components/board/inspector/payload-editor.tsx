"use client";

import { useState } from "react";
import { fieldTypes, type FieldType, type PayloadSchema } from "@/server/board/document.ts";
import { fieldNameProblem, fieldsFromSchema, newField, schemaFromFields, type PayloadField } from "../model/payload-fields.ts";
import { CheckboxField, DraftText, RemoveButton, SelectField } from "./fields.tsx";

const typeOptions = fieldTypes.map((type) => ({ value: type, label: type }));
const itemTypeOptions = fieldTypes.filter((type) => type !== "array").map((type) => ({ value: type, label: type }));

function FieldRow({
  field,
  siblings,
  path,
  onChange,
  onRemove,
  depth,
}: {
  field: PayloadField;
  siblings: readonly PayloadField[];
  path: string;
  onChange: (field: PayloadField, historyKey?: string) => void;
  onRemove: () => void;
  depth: number;
}) {
  const [open, setOpen] = useState(false);
  const hasNested = field.type === "object" || (field.type === "array" && field.items === "object");
  return (
    <li className="payload-field" data-testid="payload-field">
      <div className="payload-field-main">
        <DraftText
          label={`Field name (${path})`}
          hideLabel
          value={field.name}
          mono
          problem={(name) => fieldNameProblem(name, siblings.filter((sibling) => sibling !== field))}
          onCommit={(name) => onChange({ ...field, name }, `${path}:name`)}
          testId="payload-field-name"
        />
        <SelectField label={`Type of ${field.name}`} hideLabel value={field.type} options={typeOptions} onChange={(type: FieldType) => onChange({ ...field, type })} testId="payload-field-type" />
        <CheckboxField label={`${field.name} is required`} hideLabel checked={field.required} onChange={(required) => onChange({ ...field, required })} testId="payload-field-required" />
        <button type="button" className="icon-button" aria-expanded={open} aria-label={`More about ${field.name}`} title="Description and details" onClick={() => setOpen(!open)}>
          {open ? "▾" : "▸"}
        </button>
        <RemoveButton label={`Remove field ${field.name}`} onClick={onRemove} />
      </div>
      {open || field.type === "enum" || hasNested || field.type === "array" ? (
        <div className="payload-field-more">
          {open ? <DraftText label="Description" value={field.description} onCommit={(description) => onChange({ ...field, description }, `${path}:description`)} /> : null}
          {field.type === "enum" ? (
            <DraftText
              label="Allowed values (comma separated)"
              value={field.values.join(", ")}
              problem={(text) => (text.split(",").some((value) => value.trim() !== "") ? undefined : "at least one value")}
              onCommit={(text) => onChange({ ...field, values: text.split(",").map((value) => value.trim()).filter(Boolean) }, `${path}:values`)}
            />
          ) : null}
          {field.type === "array" ? <SelectField label="Item type" value={field.items} options={itemTypeOptions} onChange={(items: FieldType) => onChange({ ...field, items })} /> : null}
          {hasNested && depth < 4 ? (
            <FieldList fields={field.fields} path={path} depth={depth + 1} onChange={(fields, key) => onChange({ ...field, fields }, key)} />
          ) : null}
        </div>
      ) : null}
    </li>
  );
}

function FieldList({ fields, path, depth, onChange }: { fields: PayloadField[]; path: string; depth: number; onChange: (fields: PayloadField[], historyKey?: string) => void }) {
  return (
    <div className={depth > 0 ? "payload-nested" : undefined}>
      {fields.length === 0 ? (
        <p className="muted small">{depth === 0 ? "No fields yet." : "No nested fields yet."}</p>
      ) : (
        <div className="payload-head" aria-hidden>
          <span>Field</span>
          <span>Type</span>
          <span title="Required">Req.</span>
        </div>
      )}
      <ul className="payload-fields">
        {fields.map((field, index) => (
          <FieldRow
            key={index}
            field={field}
            siblings={fields}
            depth={depth}
            path={`${path}.${index}`}
            onChange={(next, key) => onChange(fields.map((candidate, position) => (position === index ? next : candidate)), key)}
            onRemove={() => onChange(fields.filter((_, position) => position !== index))}
          />
        ))}
      </ul>
      <button type="button" className="button small" onClick={() => onChange([...fields, newField(fields)])}>
        {depth === 0 ? "Add field" : "Add nested field"}
      </button>
    </div>
  );
}

/** The payload of a command or event as a list of typed fields, stored as JSON Schema. */
export function PayloadEditor({ schema, onChange }: { schema: PayloadSchema; onChange: (schema: PayloadSchema, historyKey?: string) => void }) {
  const fields = fieldsFromSchema(schema);
  return <FieldList fields={fields} path="payload" depth={0} onChange={(next, key) => onChange(schemaFromFields(next), key)} />;
}
