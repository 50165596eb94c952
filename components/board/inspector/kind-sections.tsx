"use client";

import { fieldTypes, type AggregateRule, type ExternalBinding, type FieldType, type NodeData } from "@/server/board/document.ts";
import { FIELD_NAME } from "../model/payload-fields.ts";
import { nodeOptions, sourcesOf, targetsOf, type Catalog } from "./catalog.ts";
import { CheckboxField, DraftText, DurationField, ExpressionField, MappingEditor, NumberField, RemoveButton, Section, SelectField } from "./fields.tsx";

export type Update<D> = (update: (data: D) => D, historyKey?: string) => void;

const typeOptions = fieldTypes.map((type) => ({ value: type, label: type }));
const NONE = "";

function StateFieldsEditor({ label, fields, onChange }: { label: string; fields: { name: string; type: FieldType }[]; onChange: (fields: { name: string; type: FieldType }[], key?: string) => void }) {
  return (
    <div role="group" aria-label={label}>
      {fields.length === 0 ? <p className="muted small">No fields yet.</p> : null}
      {fields.map((field, index) => (
        <div className="list-row" key={index}>
          <DraftText
            label={`${label}: name ${index + 1}`}
            hideLabel
            mono
            value={field.name}
            problem={(name) => (!FIELD_NAME.test(name) ? "letters, digits and _" : fields.some((other, position) => position !== index && other.name === name) ? "used twice" : undefined)}
            onCommit={(name) => onChange(fields.map((candidate, position) => (position === index ? { ...candidate, name } : candidate)), `${label}:${index}`)}
          />
          <SelectField
            label={`${label}: type of ${field.name}`}
            hideLabel
            value={field.type}
            options={typeOptions}
            onChange={(type: FieldType) => onChange(fields.map((candidate, position) => (position === index ? { ...candidate, type } : candidate)))}
          />
          <RemoveButton label={`Remove ${field.name}`} onClick={() => onChange(fields.filter((_, position) => position !== index))} />
        </div>
      ))}
      <button
        type="button"
        className="button small"
        onClick={() => {
          let n = fields.length + 1;
          while (fields.some((field) => field.name === `field${n}`)) n++;
          onChange([...fields, { name: `field${n}`, type: "string" }]);
        }}
      >
        Add field
      </button>
    </div>
  );
}

export function AggregateSections({ id, data, catalog, update }: { id: string; data: NodeData<"aggregate">; catalog: Catalog; update: Update<NodeData<"aggregate">> }) {
  const handled = sourcesOf(catalog, id, "command");
  const emitted = targetsOf(catalog, id, "event");
  const stateNames = data.stateFields.map((field) => field.name);
  const setRule = (index: number, rule: AggregateRule, key?: string) => update((current) => ({ ...current, rules: current.rules.map((candidate, position) => (position === index ? rule : candidate)) }), key);
  const firstCommand = handled[0]?.id ?? catalog.entries.find((entry) => entry.type === "command")?.id;
  const firstEvent = emitted[0]?.id ?? catalog.entries.find((entry) => entry.type === "event")?.id;
  return (
    <>
      <Section title="Identity">
        <ExpressionField label="Instance id" value={data.idExpression} onChange={(idExpression) => update((current) => ({ ...current, idExpression }), "idExpression")} placeholder="command.id" hint="Which aggregate instance (stream) a command is for, from { command, meta }." />
      </Section>
      <Section title="State">
        <StateFieldsEditor label="State fields" fields={data.stateFields} onChange={(stateFields, key) => update((current) => ({ ...current, stateFields }), key)} />
      </Section>
      <Section title="Rules">
        {data.rules.length === 0 ? <p className="muted small">A rule decides what a command does: emit events, or reject it with a reason.</p> : null}
        {data.rules.map((rule, index) => (
          <fieldset className="card-block" key={rule.id}>
            <legend className="visually-hidden">Rule {index + 1}</legend>
            <div className="card-block-head">
              <strong>Rule {index + 1}</strong>
              <RemoveButton label={`Remove rule ${index + 1}`} onClick={() => update((current) => ({ ...current, rules: current.rules.filter((_, position) => position !== index) }))} />
            </div>
            <SelectField label="Command" value={rule.command} options={nodeOptions(catalog, ["command"], handled, rule.command)} onChange={(command: string) => setRule(index, { ...rule, command })} />
            <ExpressionField label="Condition (optional)" value={rule.condition ?? ""} placeholder="state.status = 'open'" onChange={(condition) => setRule(index, condition === "" ? { ...rule, condition: undefined } : { ...rule, condition }, `rule:${index}:condition`)} />
            <SelectField
              label="Outcome"
              value={rule.outcome.kind}
              options={[
                { value: "emit", label: "Emit events" },
                { value: "reject", label: "Reject the command" },
              ]}
              onChange={(kind: "emit" | "reject") =>
                setRule(index, {
                  ...rule,
                  outcome: kind === "reject" ? { kind: "reject", reason: "Not allowed" } : { kind: "emit", events: firstEvent ? [{ event: firstEvent, mapping: {} }] : [] },
                } as AggregateRule)
              }
            />
            {rule.outcome.kind === "reject" ? (
              <DraftText
                label="Reason"
                value={rule.outcome.reason}
                problem={(reason) => (reason.trim() === "" ? "say why the command is rejected" : undefined)}
                onCommit={(reason) => setRule(index, { ...rule, outcome: { kind: "reject", reason } }, `rule:${index}:reason`)}
              />
            ) : (
              rule.outcome.events.map((emit, eventIndex) => {
                const outcome = rule.outcome.kind === "emit" ? rule.outcome : undefined;
                if (!outcome) return null;
                const setEmit = (next: typeof emit, key?: string) => setRule(index, { ...rule, outcome: { kind: "emit", events: outcome.events.map((candidate, position) => (position === eventIndex ? next : candidate)) } }, key);
                return (
                  <div className="nested-block" key={eventIndex}>
                    <div className="field-row">
                      <SelectField label={`Emitted event ${eventIndex + 1}`} value={emit.event} options={nodeOptions(catalog, ["event"], emitted, emit.event)} onChange={(event: string) => setEmit({ ...emit, event })} />
                      {outcome.events.length > 1 ? (
                        <RemoveButton label={`Remove emitted event ${eventIndex + 1}`} onClick={() => setRule(index, { ...rule, outcome: { kind: "emit", events: outcome.events.filter((_, position) => position !== eventIndex) } })} />
                      ) : null}
                    </div>
                    <MappingEditor
                      label={`Fields of ${catalog.byId.get(emit.event)?.name ?? "the event"}`}
                      mapping={emit.mapping}
                      suggestions={catalog.byId.get(emit.event)?.fields}
                      placeholder="command.field"
                      historyKey={`rule:${index}:emit:${eventIndex}`}
                      onChange={(mapping, key) => setEmit({ ...emit, mapping }, key)}
                    />
                  </div>
                );
              })
            )}
            {rule.outcome.kind === "emit" && firstEvent ? (
              <button
                type="button"
                className="button small"
                onClick={() => setRule(index, { ...rule, outcome: { kind: "emit", events: [...(rule.outcome.kind === "emit" ? rule.outcome.events : []), { event: firstEvent, mapping: {} }] } })}
              >
                Emit another event
              </button>
            ) : null}
          </fieldset>
        ))}
        <button
          type="button"
          className="button small"
          disabled={!firstCommand || !firstEvent}
          title={!firstCommand || !firstEvent ? "Add a command and an event to the board first" : undefined}
          onClick={() =>
            firstCommand &&
            firstEvent &&
            update((current) => ({ ...current, rules: [...current.rules, { id: `rule-${crypto.randomUUID().slice(0, 8)}`, command: firstCommand, outcome: { kind: "emit", events: [{ event: firstEvent, mapping: {} }] } }] }))
          }
        >
          Add rule
        </button>
      </Section>
      <Section title="Evolution">
        {data.evolutions.length === 0 ? <p className="muted small">How each event changes the state: state field ← expression over {"{ event, state }"}.</p> : null}
        {data.evolutions.map((evolution, index) => (
          <div className="card-block" key={index}>
            <div className="field-row">
              <SelectField
                label={`Event ${index + 1}`}
                value={evolution.event}
                options={nodeOptions(catalog, ["event"], emitted, evolution.event)}
                onChange={(event: string) => update((current) => ({ ...current, evolutions: current.evolutions.map((candidate, position) => (position === index ? { ...candidate, event } : candidate)) }))}
              />
              <RemoveButton label={`Remove evolution ${index + 1}`} onClick={() => update((current) => ({ ...current, evolutions: current.evolutions.filter((_, position) => position !== index) }))} />
            </div>
            <MappingEditor
              label={`State set by ${catalog.byId.get(evolution.event)?.name ?? "the event"}`}
              mapping={evolution.set}
              suggestions={stateNames}
              keyLabel="State field"
              historyKey={`evolution:${index}`}
              onChange={(set, key) => update((current) => ({ ...current, evolutions: current.evolutions.map((candidate, position) => (position === index ? { ...candidate, set } : candidate)) }), key)}
            />
          </div>
        ))}
        <button type="button" className="button small" disabled={!firstEvent} onClick={() => firstEvent && update((current) => ({ ...current, evolutions: [...current.evolutions, { event: firstEvent, set: {} }] }))}>
          Add evolution
        </button>
      </Section>
      <Section title="Storage">
        <NumberField label="Snapshot every (events, 0 = never)" value={data.snapshotEvery} min={0} max={100_000} step={1} onChange={(snapshotEvery) => update((current) => ({ ...current, snapshotEvery }), "snapshotEvery")} />
        <DraftText
          label="Expected-version field (optional)"
          value={data.expectedVersionField ?? ""}
          mono
          placeholder="originalVersion"
          hideLabel={false}
          problem={(value) => (value !== "" && !FIELD_NAME.test(value) ? "a command field name" : undefined)}
          onCommit={(value) => update((current) => ({ ...current, expectedVersionField: value === "" ? undefined : value }), "expectedVersionField")}
        />
      </Section>
    </>
  );
}

export function PolicySections({ id, data, catalog, update }: { id: string; data: NodeData<"policy">; catalog: Catalog; update: Update<NodeData<"policy">> }) {
  const issued = targetsOf(catalog, id, "command");
  const commands = nodeOptions(catalog, ["command"], issued);
  return (
    <>
      <Section title="Translation">
        <MappingEditor
          label={`Fields of ${issued[0]?.name ?? "the issued command"}`}
          mapping={data.mapping}
          suggestions={issued[0]?.fields}
          historyKey="mapping"
          onChange={(mapping, key) => update((current) => ({ ...current, mapping }), key)}
        />
        <ExpressionField label="Correlation key" value={data.correlationKey} placeholder="event.applicationId" hint="Ties events to one running process instance." onChange={(correlationKey) => update((current) => ({ ...current, correlationKey }), "correlationKey")} />
        <ExpressionField
          label="Condition (optional)"
          value={data.condition ?? ""}
          placeholder="event.amount > 1000"
          onChange={(condition) => update((current) => ({ ...current, condition: condition === "" ? undefined : condition }), "condition")}
        />
      </Section>
      <Section title="Reliability">
        <CheckboxField label="Retry failed commands" checked={data.retry !== undefined} onChange={(on) => update((current) => ({ ...current, retry: on ? { maxAttempts: 5, initialDelayMs: 200, multiplier: 2, maxDelayMs: 30_000 } : undefined }))} />
        {data.retry ? (
          <div className="grid-2">
            <NumberField label="Max attempts" value={data.retry.maxAttempts} min={1} max={100} step={1} onChange={(maxAttempts) => update((current) => ({ ...current, retry: current.retry && { ...current.retry, maxAttempts } }), "retry")} />
            <NumberField label="Backoff multiplier" value={data.retry.multiplier} min={1} max={10} onChange={(multiplier) => update((current) => ({ ...current, retry: current.retry && { ...current.retry, multiplier } }), "retry")} />
            <NumberField label="First delay (ms)" value={data.retry.initialDelayMs} min={0} max={3_600_000} step={1} onChange={(initialDelayMs) => update((current) => ({ ...current, retry: current.retry && { ...current.retry, initialDelayMs } }), "retry")} />
            <NumberField label="Longest delay (ms)" value={data.retry.maxDelayMs} min={0} max={86_400_000} step={1} onChange={(maxDelayMs) => update((current) => ({ ...current, retry: current.retry && { ...current.retry, maxDelayMs } }), "retry")} />
          </div>
        ) : null}
        <CheckboxField label="Deadline" checked={data.deadline !== undefined} onChange={(on) => update((current) => ({ ...current, deadline: on ? { afterMs: 60_000 } : undefined }))} />
        {data.deadline ? (
          <>
            <DurationField label="Deadline after" value={data.deadline.afterMs} onChange={(afterMs) => update((current) => ({ ...current, deadline: current.deadline && { ...current.deadline, afterMs } }), "deadline")} />
            <SelectField
              label="On timeout, issue"
              value={data.deadline.onTimeout ?? NONE}
              options={[{ value: NONE, label: "Run the compensation" }, ...commands]}
              onChange={(onTimeout: string) => update((current) => ({ ...current, deadline: current.deadline && { afterMs: current.deadline.afterMs, ...(onTimeout ? { onTimeout } : {}) } }))}
            />
          </>
        ) : null}
        <SelectField
          label="Compensation command"
          value={data.compensation ?? NONE}
          options={[{ value: NONE, label: "None" }, ...commands]}
          onChange={(compensation: string) => update((current) => ({ ...current, compensation: compensation || undefined }))}
        />
      </Section>
    </>
  );
}

export function ReadModelSections({ id, data, catalog, update }: { id: string; data: NodeData<"readModel">; catalog: Catalog; update: Update<NodeData<"readModel">> }) {
  const projected = sourcesOf(catalog, id, "event");
  const firstEvent = projected[0]?.id ?? catalog.entries.find((entry) => entry.type === "event")?.id;
  const fieldNames = data.fields.map((field) => field.name);
  return (
    <>
      <Section title="Fields">
        <StateFieldsEditor label="View fields" fields={data.fields} onChange={(fields, key) => update((current) => ({ ...current, fields }), key)} />
      </Section>
      <Section title="Updates">
        {data.updates.length === 0 ? <p className="muted small">For each event: which row (key) it changes and how, from {"{ event, view, meta }"}.</p> : null}
        {data.updates.map((entry, index) => {
          const setEntry = (next: typeof entry, key?: string) => update((current) => ({ ...current, updates: current.updates.map((candidate, position) => (position === index ? next : candidate)) }), key);
          return (
            <div className="card-block" key={index}>
              <div className="field-row">
                <SelectField label={`Event ${index + 1}`} value={entry.event} options={nodeOptions(catalog, ["event"], projected, entry.event)} onChange={(event: string) => setEntry({ ...entry, event })} />
                <RemoveButton label={`Remove update ${index + 1}`} onClick={() => update((current) => ({ ...current, updates: current.updates.filter((_, position) => position !== index) }))} />
              </div>
              <ExpressionField label="Row key" value={entry.key} placeholder="event.userId" onChange={(key) => setEntry({ ...entry, key }, `update:${index}:key`)} />
              <CheckboxField label="Remove the row" checked={entry.remove} onChange={(remove) => setEntry({ ...entry, remove })} />
              {entry.remove ? null : (
                <MappingEditor label="Set fields" mapping={entry.set} suggestions={fieldNames} historyKey={`update:${index}:set`} onChange={(set, key) => setEntry({ ...entry, set }, key)} />
              )}
            </div>
          );
        })}
        <button type="button" className="button small" disabled={!firstEvent} onClick={() => firstEvent && update((current) => ({ ...current, updates: [...current.updates, { event: firstEvent, key: "", set: {}, remove: false }] }))}>
          Add update
        </button>
      </Section>
    </>
  );
}

const bindingOptions = [
  { value: "none", label: "None (modelled only)" },
  { value: "webhook", label: "HTTP webhook" },
  { value: "redis", label: "Redis channel" },
  { value: "nats", label: "NATS subject" },
] as const;

function defaultBinding(kind: ExternalBinding["kind"]): ExternalBinding {
  switch (kind) {
    case "none":
      return { kind: "none" };
    case "webhook":
      return { kind: "webhook", url: "https://" };
    case "redis":
      return { kind: "redis", channel: "", mode: "pubsub" };
    case "nats":
      return { kind: "nats", subject: "" };
    default: {
      const unreachable: never = kind;
      return unreachable;
    }
  }
}

function BindingFields({ binding, onChange }: { binding: ExternalBinding; onChange: (binding: ExternalBinding, key?: string) => void }) {
  switch (binding.kind) {
    case "none":
      return null;
    case "webhook":
      return (
        <>
          <DraftText label="Webhook URL" value={binding.url} mono onCommit={(url) => onChange({ ...binding, url }, "binding:url")} />
          <DraftText label="Signing secret (optional)" value={binding.secret ?? ""} mono onCommit={(secret) => onChange({ kind: "webhook", url: binding.url, ...(secret ? { secret } : {}) }, "binding:secret")} />
        </>
      );
    case "redis":
      return (
        <>
          <DraftText label="Channel" value={binding.channel} mono placeholder="line_allocated" onCommit={(channel) => onChange({ ...binding, channel }, "binding:channel")} />
          <SelectField
            label="Mode"
            value={binding.mode}
            options={[
              { value: "pubsub", label: "Pub/sub" },
              { value: "stream", label: "Stream" },
            ]}
            onChange={(mode: "pubsub" | "stream") => onChange({ ...binding, mode })}
          />
          {binding.mode === "stream" ? (
            <>
              <NumberField
                label="Batch size (entries per read)"
                value={binding.batchSize ?? 50}
                min={1}
                max={1000}
                step={1}
                hint="A work queue: entries are read in batches and acknowledged once stored; an entry that cannot be stored stays for a later try."
                onChange={(batchSize) => onChange({ ...binding, batchSize }, "binding:batchSize")}
              />
              <NumberField
                label="Poll interval (ms)"
                value={binding.pollIntervalMs ?? 1000}
                min={10}
                max={60_000}
                step={1}
                onChange={(pollIntervalMs) => onChange({ ...binding, pollIntervalMs }, "binding:pollIntervalMs")}
              />
            </>
          ) : null}
        </>
      );
    case "nats":
      return (
        <>
          <DraftText label="Subject" value={binding.subject} mono placeholder="orders.*" onCommit={(subject) => onChange({ ...binding, subject }, "binding:subject")} />
          <DraftText label="Queue group (optional)" value={binding.queueGroup ?? ""} mono onCommit={(queueGroup) => onChange({ kind: "nats", subject: binding.subject, ...(queueGroup ? { queueGroup } : {}) }, "binding:queue")} />
        </>
      );
    default: {
      const unreachable: never = binding;
      return unreachable;
    }
  }
}

export function ExternalSystemSections({ id, data, catalog, update }: { id: string; data: NodeData<"externalSystem">; catalog: Catalog; update: Update<NodeData<"externalSystem">> }) {
  const receivers = targetsOf(catalog, id, "command", "event");
  const deliverers = sourcesOf(catalog, id, "command", "event");
  const firstTarget = receivers[0]?.id ?? catalog.entries.find((entry) => entry.type === "command")?.id;
  const firstSource = deliverers[0]?.id ?? catalog.entries.find((entry) => entry.type === "event")?.id;
  return (
    <>
      <Section title="Binding">
        <SelectField label="Connects through" value={data.binding.kind} options={bindingOptions} onChange={(kind: ExternalBinding["kind"]) => update((current) => ({ ...current, binding: defaultBinding(kind) }))} />
        <BindingFields binding={data.binding} onChange={(binding, key) => update((current) => ({ ...current, binding }), key)} />
      </Section>
      <Section title="Inbound messages">
        {data.inbound.map((route, index) => {
          const setRoute = (next: typeof route, key?: string) => update((current) => ({ ...current, inbound: current.inbound.map((candidate, position) => (position === index ? next : candidate)) }), key);
          return (
            <div className="card-block" key={index}>
              <div className="field-row">
                <DraftText label="Message name" value={route.message} mono problem={(message) => (message.trim() === "" ? "a message name is needed" : undefined)} onCommit={(message) => setRoute({ ...route, message }, `inbound:${index}:message`)} />
                <RemoveButton label={`Remove inbound message ${route.message}`} onClick={() => update((current) => ({ ...current, inbound: current.inbound.filter((_, position) => position !== index) }))} />
              </div>
              <SelectField label="Becomes" value={route.target} options={nodeOptions(catalog, ["command", "event"], receivers, route.target)} onChange={(target: string) => setRoute({ ...route, target })} />
              <MappingEditor label="Mapping" mapping={route.mapping} suggestions={catalog.byId.get(route.target)?.fields} placeholder="message.field" historyKey={`inbound:${index}`} onChange={(mapping, key) => setRoute({ ...route, mapping }, key)} />
            </div>
          );
        })}
        <button type="button" className="button small" disabled={!firstTarget} onClick={() => firstTarget && update((current) => ({ ...current, inbound: [...current.inbound, { message: "incoming_message", target: firstTarget, mapping: {} }] }))}>
          Add inbound message
        </button>
      </Section>
      <Section title="Outbound messages">
        {data.outbound.map((route, index) => {
          const setRoute = (next: typeof route, key?: string) => update((current) => ({ ...current, outbound: current.outbound.map((candidate, position) => (position === index ? next : candidate)) }), key);
          return (
            <div className="card-block" key={index}>
              <div className="field-row">
                <SelectField label="Published for" value={route.source} options={nodeOptions(catalog, ["event", "command"], deliverers, route.source)} onChange={(source: string) => setRoute({ ...route, source })} />
                <RemoveButton label={`Remove outbound message ${route.message}`} onClick={() => update((current) => ({ ...current, outbound: current.outbound.filter((_, position) => position !== index) }))} />
              </div>
              <DraftText label="Message name" value={route.message} mono problem={(message) => (message.trim() === "" ? "a message name is needed" : undefined)} onCommit={(message) => setRoute({ ...route, message }, `outbound:${index}:message`)} />
              <MappingEditor label="Mapping" mapping={route.mapping} historyKey={`outbound:${index}`} onChange={(mapping, key) => setRoute({ ...route, mapping }, key)} />
            </div>
          );
        })}
        <button type="button" className="button small" disabled={!firstSource} onClick={() => firstSource && update((current) => ({ ...current, outbound: [...current.outbound, { source: firstSource, message: "outgoing_message", mapping: {} }] }))}>
          Add outbound message
        </button>
      </Section>
    </>
  );
}
