"use client";

import { useEffect, useId, useState, type ReactNode } from "react";
import { parseExpression } from "@/server/definition/expressions.ts";

/**
 * A text input that commits only values it accepts. While the text is not acceptable it stays
 * local and the reason is shown; the board always holds the last good value.
 */
export function DraftText({
  label,
  value,
  onCommit,
  problem,
  placeholder,
  mono,
  multiline,
  hideLabel,
  autoFocus,
  testId,
}: {
  label: string;
  value: string;
  onCommit: (value: string) => void;
  problem?: (value: string) => string | undefined;
  placeholder?: string;
  mono?: boolean;
  multiline?: boolean;
  hideLabel?: boolean;
  autoFocus?: boolean;
  testId?: string;
}) {
  const id = useId();
  const [draft, setDraft] = useState(value);
  const [focused, setFocused] = useState(false);
  useEffect(() => {
    if (!focused) setDraft(value);
  }, [value, focused]);
  const error = draft !== value ? problem?.(draft) : undefined;
  const change = (next: string) => {
    setDraft(next);
    if (!problem?.(next)) onCommit(next);
  };
  const common = {
    id,
    className: `input${mono ? " mono" : ""}`,
    value: draft,
    placeholder,
    autoFocus,
    "aria-invalid": error ? true : undefined,
    "aria-describedby": error ? `${id}-error` : undefined,
    "data-testid": testId,
    onFocus: () => setFocused(true),
    onBlur: () => {
      setFocused(false);
      setDraft(value);
    },
  } as const;
  return (
    <div className="field">
      <label htmlFor={id} className={hideLabel ? "visually-hidden" : "field-label"}>
        {label}
      </label>
      {multiline ? <textarea {...common} rows={3} onChange={(event) => change(event.target.value)} /> : <input {...common} type="text" onChange={(event) => change(event.target.value)} />}
      {error ? (
        <div id={`${id}-error`} className="error-text">
          {error}
        </div>
      ) : null}
    </div>
  );
}

export function expressionProblem(source: string): string | undefined {
  if (source.trim() === "") return undefined;
  const result = parseExpression(source);
  return result.ok ? undefined : `${result.error} (at character ${result.position + 1})`;
}

/** A JSONata expression, checked as it is typed. It is stored even when wrong: the compiler reports it too. */
export function ExpressionField({
  label,
  value,
  onChange,
  placeholder,
  hint,
  hideLabel,
  testId,
}: {
  label: string;
  value: string;
  onChange: (value: string) => void;
  placeholder?: string;
  hint?: string;
  hideLabel?: boolean;
  testId?: string;
}) {
  const id = useId();
  const error = expressionProblem(value);
  return (
    <div className="field">
      <label htmlFor={id} className={hideLabel ? "visually-hidden" : "field-label"}>
        {label}
      </label>
      <input
        id={id}
        type="text"
        className="input mono"
        spellCheck={false}
        value={value}
        placeholder={placeholder}
        aria-invalid={error ? true : undefined}
        aria-describedby={error ? `${id}-error` : hint ? `${id}-hint` : undefined}
        data-testid={testId}
        onChange={(event) => onChange(event.target.value)}
      />
      {error ? (
        <div id={`${id}-error`} className="error-text" role="status">
          {error}
        </div>
      ) : hint ? (
        <div id={`${id}-hint`} className="field-hint">
          {hint}
        </div>
      ) : null}
    </div>
  );
}

export function SelectField<V extends string>({
  label,
  value,
  options,
  onChange,
  hideLabel,
  testId,
}: {
  label: string;
  value: V;
  options: readonly { value: V; label: string }[];
  onChange: (value: V) => void;
  hideLabel?: boolean;
  testId?: string;
}) {
  const id = useId();
  return (
    <div className="field">
      <label htmlFor={id} className={hideLabel ? "visually-hidden" : "field-label"}>
        {label}
      </label>
      <select id={id} className="input" value={value} data-testid={testId} onChange={(event) => onChange(event.target.value as V)}>
        {options.map((option) => (
          <option key={option.value} value={option.value}>
            {option.label}
          </option>
        ))}
      </select>
    </div>
  );
}

export function NumberField({
  label,
  value,
  onChange,
  min,
  max,
  step,
  hint,
}: {
  label: string;
  value: number;
  onChange: (value: number) => void;
  min: number;
  max: number;
  step?: number;
  hint?: string;
}) {
  const id = useId();
  const [draft, setDraft] = useState(String(value));
  useEffect(() => setDraft(String(value)), [value]);
  const parsed = Number(draft);
  const error = draft.trim() === "" || !Number.isFinite(parsed) ? "a number is needed" : parsed < min || parsed > max ? `between ${min} and ${max}` : step === 1 && !Number.isInteger(parsed) ? "a whole number" : undefined;
  return (
    <div className="field">
      <label htmlFor={id} className="field-label">
        {label}
      </label>
      <input
        id={id}
        type="number"
        className="input"
        value={draft}
        min={min}
        max={max}
        step={step}
        aria-invalid={error ? true : undefined}
        onChange={(event) => {
          setDraft(event.target.value);
          const next = Number(event.target.value);
          if (event.target.value.trim() !== "" && Number.isFinite(next) && next >= min && next <= max && (step !== 1 || Number.isInteger(next))) onChange(next);
        }}
        onBlur={() => setDraft(String(value))}
      />
      {error ? <div className="error-text">{error}</div> : hint ? <div className="field-hint">{hint}</div> : null}
    </div>
  );
}

const durationUnits = [
  { value: "ms", label: "milliseconds", factor: 1 },
  { value: "s", label: "seconds", factor: 1000 },
  { value: "min", label: "minutes", factor: 60_000 },
  { value: "h", label: "hours", factor: 3_600_000 },
  { value: "d", label: "days", factor: 86_400_000 },
] as const;
type DurationUnit = (typeof durationUnits)[number]["value"];

function bestUnit(ms: number): DurationUnit {
  for (const unit of [...durationUnits].reverse()) if (ms % unit.factor === 0) return unit.value;
  return "ms";
}

/** A duration stored in milliseconds, edited in the unit it reads best in. */
export function DurationField({ label, value, onChange, max = 31 * 86_400_000 }: { label: string; value: number; onChange: (ms: number) => void; max?: number }) {
  const id = useId();
  const [unit, setUnit] = useState<DurationUnit>(() => bestUnit(value));
  const factor = durationUnits.find((candidate) => candidate.value === unit)!.factor;
  const [draft, setDraft] = useState(String(value / factor));
  useEffect(() => setDraft(String(value / factor)), [value, factor]);
  const amount = Number(draft);
  const ms = Math.round(amount * factor);
  const error = draft.trim() === "" || !Number.isFinite(amount) || ms < 1 ? "a positive duration is needed" : ms > max ? "at most 31 days" : undefined;
  return (
    <div className="field">
      <label htmlFor={id} className="field-label">
        {label}
      </label>
      <div className="field-row">
        <input
          id={id}
          type="number"
          className="input"
          min={0}
          value={draft}
          aria-invalid={error ? true : undefined}
          onChange={(event) => {
            setDraft(event.target.value);
            const next = Math.round(Number(event.target.value) * factor);
            if (event.target.value.trim() !== "" && Number.isFinite(next) && next >= 1 && next <= max) onChange(next);
          }}
          onBlur={() => setDraft(String(value / factor))}
        />
        <select className="input unit-select" aria-label={`${label} unit`} value={unit} onChange={(event) => setUnit(event.target.value as DurationUnit)}>
          {durationUnits.map((candidate) => (
            <option key={candidate.value} value={candidate.value}>
              {candidate.label}
            </option>
          ))}
        </select>
      </div>
      {error ? <div className="error-text">{error}</div> : null}
    </div>
  );
}

export function CheckboxField({ label, checked, onChange, testId, hideLabel }: { label: string; checked: boolean; onChange: (checked: boolean) => void; testId?: string; hideLabel?: boolean }) {
  return (
    <label className="checkbox-field" title={hideLabel ? label : undefined}>
      <input type="checkbox" checked={checked} data-testid={testId} onChange={(event) => onChange(event.target.checked)} />
      <span className={hideLabel ? "visually-hidden" : undefined}>{label}</span>
    </label>
  );
}

export function Section({ title, children, actions }: { title: string; children: ReactNode; actions?: ReactNode }) {
  return (
    <section className="inspector-section">
      <div className="inspector-section-head">
        <h3>{title}</h3>
        {actions}
      </div>
      {children}
    </section>
  );
}

export function RemoveButton({ label, onClick }: { label: string; onClick: () => void }) {
  return (
    <button type="button" className="icon-button" aria-label={label} title={label} onClick={onClick}>
      ×
    </button>
  );
}

const MAPPING_KEY = /^\S+$/;

/**
 * Field name → expression. Suggested names (the target's payload fields) can be added in one
 * click; keys are edited as drafts so that renaming never merges two rows.
 */
export function MappingEditor({
  label,
  mapping,
  onChange,
  suggestions = [],
  keyLabel = "Field",
  placeholder = "event.field",
  historyKey,
}: {
  label: string;
  mapping: Record<string, string>;
  onChange: (mapping: Record<string, string>, historyKey?: string) => void;
  suggestions?: readonly string[];
  keyLabel?: string;
  placeholder?: string;
  historyKey?: string;
}) {
  const entries = Object.entries(mapping);
  const missing = suggestions.filter((name) => !(name in mapping));
  const replaceAt = (index: number, key: string, value: string) => {
    const next: Record<string, string> = {};
    entries.forEach(([existingKey, existingValue], position) => {
      if (position === index) next[key] = value;
      else next[existingKey] = existingValue;
    });
    return next;
  };
  return (
    <div className="mapping" role="group" aria-label={label}>
      {entries.length === 0 ? <p className="muted small">No fields mapped yet.</p> : null}
      {entries.map(([key, value], index) => (
        <div className="mapping-row" key={index}>
          <DraftText
            label={`${label}: ${keyLabel.toLowerCase()} ${index + 1}`}
            hideLabel
            value={key}
            mono
            problem={(candidate) =>
              !MAPPING_KEY.test(candidate) ? "a name without spaces" : candidate !== key && candidate in mapping ? `"${candidate}" is mapped already` : undefined
            }
            onCommit={(candidate) => onChange(replaceAt(index, candidate, value), historyKey && `${historyKey}:key:${index}`)}
          />
          <span className="mapping-arrow" aria-hidden>
            ←
          </span>
          <ExpressionField
            label={`${label}: expression for ${key}`}
            hideLabel
            value={value}
            placeholder={placeholder}
            onChange={(expression) => onChange(replaceAt(index, key, expression), historyKey && `${historyKey}:value:${index}`)}
          />
          <RemoveButton
            label={`Remove ${key} from ${label.toLowerCase()}`}
            onClick={() => onChange(Object.fromEntries(entries.filter((_, position) => position !== index)))}
          />
        </div>
      ))}
      <div className="row-actions">
        <button
          type="button"
          className="button small"
          onClick={() => {
            let index = entries.length + 1;
            while (`field${index}` in mapping) index++;
            onChange({ ...mapping, [missing[0] ?? `field${index}`]: "" });
          }}
        >
          Add mapping
        </button>
        {missing.length > 1 ? (
          <button type="button" className="button small" onClick={() => onChange({ ...mapping, ...Object.fromEntries(missing.map((name) => [name, ""])) })}>
            Add all {missing.length} target fields
          </button>
        ) : null}
      </div>
    </div>
  );
}
