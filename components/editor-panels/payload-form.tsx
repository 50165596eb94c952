"use client";

import { useId } from "react";
import { emptyDraft, fieldOf, itemPath, type Draft, type FieldErrors, type FormField } from "./schema-form.ts";

export interface PayloadFormProps {
  fields: FormField[];
  value: Record<string, Draft>;
  errors: FieldErrors;
  /** Errors are shown for fields the user touched, and for all once they tried to submit. */
  showAll: boolean;
  touched: ReadonlySet<string>;
  onChange: (path: string, value: Draft) => void;
}

export function PayloadForm({ fields, value, errors, showAll, touched, onChange }: PayloadFormProps) {
  return (
    <div className="ep-payload-form">
      {fields.map((field) => (
        <FieldInput key={field.path} field={field} value={value[field.name]} errors={errors} showAll={showAll} touched={touched} onChange={onChange} />
      ))}
    </div>
  );
}

function FieldInput({ field, value, errors, showAll, touched, onChange }: { field: FormField; value: Draft | undefined } & Omit<PayloadFormProps, "fields" | "value">) {
  const id = useId();
  const error = showAll || touched.has(field.path) ? errors[field.path] : undefined;
  const label = (
    <label htmlFor={id} className="ep-payload-field-label">
      {field.name}
      {field.required ? (
        <span className="ep-required-mark" aria-label="required">
          *
        </span>
      ) : null}
      <span className="ep-payload-field-type">{field.kind === "dateTime" ? "date-time" : field.kind}</span>
    </label>
  );
  const described = error ? `${id}-error` : undefined;
  const common = { id, "aria-invalid": error ? true : undefined, "aria-describedby": described, "aria-required": field.required || undefined } as const;
  const text = typeof value === "string" ? value : "";
  let control;
  switch (field.kind) {
    case "text":
      control = <input {...common} className="input" value={text} onChange={(event) => onChange(field.path, event.target.value)} />;
      break;
    case "number":
    case "integer":
      control = <input {...common} className="input" inputMode={field.kind === "integer" ? "numeric" : "decimal"} value={text} onChange={(event) => onChange(field.path, event.target.value)} />;
      break;
    case "dateTime":
      control = <input {...common} className="input" type="datetime-local" value={text} onChange={(event) => onChange(field.path, event.target.value)} />;
      break;
    case "enum":
      control = (
        <select {...common} className="input" value={text} onChange={(event) => onChange(field.path, event.target.value)}>
          <option value="">—</option>
          {field.options.map((option) => (
            <option key={option} value={option}>
              {option}
            </option>
          ))}
        </select>
      );
      break;
    case "boolean":
      control = <input {...common} type="checkbox" checked={value === true} onChange={(event) => onChange(field.path, event.target.checked)} />;
      break;
    case "object": {
      const object = typeof value === "object" && value !== null && !Array.isArray(value) ? value : {};
      return (
        <fieldset className="ep-payload-field-group">
          <legend>
            {field.name}
            {field.required ? <span className="ep-required-mark">*</span> : null}
          </legend>
          {field.fields.map((child) => (
            <FieldInput key={child.path} field={child} value={object[child.name]} errors={errors} showAll={showAll} touched={touched} onChange={onChange} />
          ))}
          {error ? <p className="error-text">{error}</p> : null}
        </fieldset>
      );
    }
    case "array": {
      const items = Array.isArray(value) ? value : [];
      return (
        <fieldset className="ep-payload-field-group">
          <legend>
            {field.name} <span className="ep-payload-field-type">list</span>
            {field.required ? <span className="ep-required-mark">*</span> : null}
          </legend>
          {items.map((item, index) => {
            const itemField = fieldOf(`${field.name} ${index + 1}`, field.item, itemPath(field.path, index), true);
            return (
              <div key={index} className="ep-array-item">
                <FieldInput field={itemField} value={item} errors={errors} showAll={showAll} touched={touched} onChange={onChange} />
                <button type="button" className="button small" aria-label={`Remove ${field.name} ${index + 1}`} onClick={() => onChange(field.path, items.filter((_, at) => at !== index))}>
                  ×
                </button>
              </div>
            );
          })}
          <button type="button" className="button small" onClick={() => onChange(field.path, [...items, emptyDraft(fieldOf(field.name, field.item, itemPath(field.path, items.length), true))])}>
            + Add {field.name}
          </button>
          {error ? <p className="error-text">{error}</p> : null}
        </fieldset>
      );
    }
    default: {
      const unreachable: never = field;
      return unreachable;
    }
  }
  return (
    <div className={`ep-payload-field${field.kind === "boolean" ? " ep-payload-field-inline" : ""}`}>
      {label}
      {control}
      {field.description ? <span className="ep-payload-field-hint">{field.description}</span> : null}
      {error ? (
        <span id={described} className="error-text">
          {error}
        </span>
      ) : null}
    </div>
  );
}
