"use client";

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import Link from "next/link";
import { useEffect, useMemo, useRef, useState } from "react";
import { useTRPC, useTRPCClient } from "@/components/trpc/client.tsx";
import type { RouterOutputs } from "@/server/api/root.ts";
import type { CommandDefinition, EventDefinition, PayloadSchemaV1, ProcessDefinitionV1 } from "@/server/definition/v1.ts";
import { PayloadForm } from "./payload-form.tsx";
import { emptyForm, formFields, readForm, sampleForm, setDraftAt, violationsByField, type Draft, type DraftObject, type FieldErrors, type FormField } from "./schema-form.ts";

interface StartOption {
  processId: string;
  processName: string;
  event: EventDefinition;
}

function startOptions(definition: ProcessDefinitionV1): StartOption[] {
  return definition.processManagers.flatMap((manager) =>
    manager.start.flatMap((entry) => {
      const event = definition.events.find((candidate) => candidate.id === entry.event.id);
      return event ? [{ processId: manager.id, processName: manager.name, event }] : [];
    }),
  );
}

/** The violations a BAD_REQUEST from runtime.start or runtime.sendCommand lists, one per line after the first. */
function refusalViolations(error: unknown): string[] {
  const message = error instanceof Error ? error.message : "";
  const lines = message.split("\n");
  return lines.length > 1 ? lines.slice(1) : [];
}

const NO_FIELDS: PayloadSchemaV1 = { type: "object", properties: {}, required: [] };

const statusLabel: Record<string, string> = { running: "running", completed: "completed", failed: "failed", compensating: "compensating", compensated: "compensated", stuck: "stuck" };

export function RunPanel({ boardId }: { boardId: string }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const versions = useQuery(trpc.runtime.versions.queryOptions({ boardId }));
  const deployed = versions.data?.find((version) => version.deployed);
  const newest = versions.data?.[0];
  const deploy = useMutation(trpc.runtime.deploy.mutationOptions({ onSuccess: () => void queryClient.invalidateQueries({ queryKey: trpc.runtime.versions.queryKey({ boardId }) }) }));
  const definition = useQuery({ ...trpc.definition.exportDefinition.queryOptions({ boardId, version: deployed?.version ?? 1 }), enabled: deployed !== undefined, staleTime: Infinity });

  if (versions.isPending) return <p className="muted ep-panel-pad">Loading…</p>;
  if (versions.isError) return <p className="error-text ep-panel-pad">{versions.error.message}</p>;
  return (
    <div className="run ep-panel-pad" data-testid="run-panel">
      {!deployed ? (
        newest ? (
          <div className="ep-panel-row">
            <span className="small">Nothing is deployed.</span>
            <button type="button" className="button primary small" disabled={deploy.isPending} onClick={() => deploy.mutate({ boardId, version: newest.version })}>
              Deploy v{newest.version}
            </button>
            {deploy.isError ? <span className="error-text">{deploy.error.message}</span> : null}
          </div>
        ) : (
          <p className="muted small">Publish the board in Versions first; then it can be deployed and run here.</p>
        )
      ) : (
        <p className="small">
          Running <strong>v{deployed.version}</strong>
        </p>
      )}
      <RecentInstances boardId={boardId} />
      {deployed && definition.data ? <StartForm key={deployed.id} boardId={boardId} definition={definition.data} /> : null}
      {deployed && definition.data && definition.data.commands.length > 0 ? <CommandForm key={`command-${deployed.id}`} boardId={boardId} commands={definition.data.commands} /> : null}
      {definition.isError ? <p className="error-text">{definition.error.message}</p> : null}
    </div>
  );
}

/** A payload being typed against a message's schema: the draft, what was touched, and its errors. */
function usePayloadDraft(schema: PayloadSchemaV1, resetOn: unknown) {
  const fields = useMemo(() => formFields(schema), [schema]);
  const [draft, setDraft] = useState<DraftObject>(() => emptyForm(fields));
  const [touched, setTouched] = useState<ReadonlySet<string>>(new Set());
  const [submitted, setSubmitted] = useState(false);
  const [serverErrors, setServerErrors] = useState<FieldErrors>({});
  const seed = useRef(Math.floor(Math.random() * 10_000));

  useEffect(() => {
    setDraft(emptyForm(fields));
    setTouched(new Set());
    setSubmitted(false);
  }, [fields, resetOn]);

  const { payload, errors: clientErrors } = readForm(schema, fields, draft);
  return {
    fields,
    seed,
    payload,
    /** False (and every error shown) when what was typed cannot be sent yet. */
    submit: () => {
      setSubmitted(true);
      return Object.keys(clientErrors).length === 0;
    },
    /** The server's violations of a refused payload, shown next to their fields. */
    refusedWith: (error: unknown) => setServerErrors(violationsByField(refusalViolations(error))),
    accepted: () => setServerErrors({}),
    editor: (
      <PayloadDraftEditor
        fields={fields}
        draft={draft}
        errors={{ ...serverErrors, ...clientErrors }}
        submitted={submitted}
        touched={touched}
        onChange={(path, value) => {
          setDraft((current) => setDraftAt(current, path, value));
          setTouched((current) => new Set(current).add(path));
          setServerErrors({});
        }}
        onSample={() => {
          seed.current += 1;
          setDraft(sampleForm(fields, seed.current, new Date()));
          setServerErrors({});
        }}
      />
    ),
  };
}

function PayloadDraftEditor(props: {
  fields: FormField[];
  draft: DraftObject;
  errors: FieldErrors;
  submitted: boolean;
  touched: ReadonlySet<string>;
  onChange: (path: string, value: Draft) => void;
  onSample: () => void;
}) {
  return (
    <>
      <button type="button" className="button small" onClick={props.onSample}>
        Fill with sample data
      </button>
      <PayloadForm fields={props.fields} value={props.draft} errors={props.errors} showAll={props.submitted} touched={props.touched} onChange={props.onChange} />
      {props.errors[""] ? <p className="error-text">{props.errors[""]}</p> : null}
    </>
  );
}

function StartForm({ boardId, definition }: { boardId: string; definition: ProcessDefinitionV1 }) {
  const client = useTRPCClient();
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const options = useMemo(() => startOptions(definition), [definition]);
  const [choice, setChoice] = useState(0);
  const option = options[choice];
  const form = usePayloadDraft(option?.event.schema ?? NO_FIELDS, option);
  const [result, setResult] = useState<{ tone: "ok" | "error"; text: string; instanceId?: string } | null>(null);

  if (!option) return <p className="muted small">No process of this version has a start event.</p>;
  const refreshInstances = () => queryClient.invalidateQueries({ queryKey: trpc.runtime.instances.queryKey() });

  const start = async () => {
    if (!form.submit()) return;
    try {
      const started = await client.runtime.start.mutate({ boardId, processId: option.processId, event: option.event.name, payload: form.payload });
      setResult({ tone: "ok", text: started.duplicate ? `Already started: ${started.correlationKey}.` : `Started ${started.correlationKey}.`, instanceId: started.instanceId });
      form.accepted();
      void refreshInstances();
    } catch (error) {
      form.refusedWith(error);
      setResult({ tone: "error", text: (error as Error).message.split("\n")[0]! });
    }
  };

  return (
    <section aria-label="Start an instance" className="ep-start-form">
      <h3 className="ep-panel-heading">Start an instance</h3>
      {options.length > 1 ? (
        <label className="small">
          Start with{" "}
          <select value={choice} onChange={(event) => setChoice(Number(event.target.value))}>
            {options.map((candidate, index) => (
              <option key={`${candidate.processId}-${candidate.event.id}`} value={index}>
                {candidate.processName}: {candidate.event.name}
              </option>
            ))}
          </select>
        </label>
      ) : (
        <p className="small muted">
          {option.processName} starts on <strong>{option.event.name}</strong>.
        </p>
      )}
      {form.editor}
      <button type="button" className="button primary small" onClick={() => void start()}>
        Start {option.event.name}
      </button>
      {result ? (
        <p className={result.tone === "error" ? "error-text" : "ep-ok-text"} role={result.tone === "error" ? "alert" : "status"}>
          {result.text} {result.instanceId ? <Link href={`/runs/${encodeURIComponent(result.instanceId)}`}>Open run</Link> : null}
        </p>
      ) : null}
      <LoadGenerator
        key={option.event.id}
        start={(index) => client.runtime.start.mutate({ boardId, processId: option.processId, event: option.event.name, payload: readForm(option.event.schema, form.fields, sampleForm(form.fields, form.seed.current * 1000 + index, new Date())).payload })}
        onDone={() => void refreshInstances()}
      />
    </section>
  );
}

type CommandOutcome = RouterOutputs["runtime"]["commandOutcome"];

function outcomeText(outcome: CommandOutcome): { tone: "ok" | "error" | "pending"; text: string } {
  switch (outcome.kind) {
    case "accepted":
      return { tone: "ok", text: outcome.events.length > 0 ? `Accepted: ${outcome.events.map((event) => event.type).join(", ")}.` : "Accepted (no events)." };
    case "rejected":
      return { tone: "error", text: `Rejected: ${outcome.reason}` };
    case "delivered":
      return { tone: "ok", text: "Delivered to its external handler." };
    case "parked":
      return { tone: "error", text: `Parked after ${outcome.attempts} attempts${outcome.error ? `: ${outcome.error}` : ""}. See Runs → Dead letters.` };
    case "pending":
    case "unknown":
      return { tone: "pending", text: "Waiting for its handler…" };
    default: {
      const unknownOutcome: never = outcome;
      return unknownOutcome;
    }
  }
}

/** Any command of the deployed version, sent as an actor would: set up stock, correct data, try a rule. */
function CommandForm({ boardId, commands }: { boardId: string; commands: CommandDefinition[] }) {
  const client = useTRPCClient();
  const trpc = useTRPC();
  const [choice, setChoice] = useState(0);
  const command = commands[Math.min(choice, commands.length - 1)]!;
  const form = usePayloadDraft(command.schema, command);
  const [sent, setSent] = useState<{ messageId: string } | { error: string } | null>(null);
  // Rendered only when opened, so its fields never shadow the start form's labels.
  const [open, setOpen] = useState(false);
  const sentId = sent && "messageId" in sent ? sent.messageId : null;
  const outcome = useQuery({
    ...trpc.runtime.commandOutcome.queryOptions({ messageId: sentId ?? "" }),
    enabled: sentId !== null,
    refetchInterval: (query) => (query.state.data && outcomeText(query.state.data).tone !== "pending" ? false : 300),
  });

  useEffect(() => setSent(null), [command]);

  const send = async () => {
    if (!form.submit()) return;
    try {
      setSent({ messageId: (await client.runtime.sendCommand.mutate({ boardId, name: command.name, payload: form.payload })).messageId });
      form.accepted();
    } catch (error) {
      form.refusedWith(error);
      setSent({ error: (error as Error).message.split("\n")[0]! });
    }
  };

  const result =
    sent === null
      ? null
      : "error" in sent
        ? { tone: "error" as const, text: sent.error }
        : outcome.isError
          ? { tone: "error" as const, text: outcome.error.message }
          : outcome.data
            ? outcomeText(outcome.data)
            : { tone: "pending" as const, text: "Sent; waiting for its handler…" };

  return (
    <details className="ep-load-generator" data-testid="command-form" onToggle={(event) => setOpen(event.currentTarget.open)}>
      <summary>Send a command</summary>
      {open ? (
        <>
          <label className="small">
            Command{" "}
            <select aria-label="Command to send" value={choice} onChange={(event) => setChoice(Number(event.target.value))}>
              {commands.map((candidate, index) => (
                <option key={candidate.id} value={index}>
                  {candidate.name}
                  {candidate.context ? ` (${candidate.context.name})` : ""}
                </option>
              ))}
            </select>
          </label>
          {command.description ? <p className="muted small">{command.description}</p> : null}
          {form.editor}
          <button type="button" className="button primary small" onClick={() => void send()}>
            Send {command.name}
          </button>
          {result ? (
            <p className={result.tone === "error" ? "error-text" : result.tone === "ok" ? "ep-ok-text" : "muted small"} role={result.tone === "error" ? "alert" : "status"} data-testid="command-result">
              {result.text}
            </p>
          ) : null}
        </>
      ) : null}
    </details>
  );
}

function LoadGenerator({ start, onDone }: { start: (index: number) => Promise<unknown>; onDone: () => void }) {
  const [count, setCount] = useState(20);
  const [rate, setRate] = useState(5);
  const [progress, setProgress] = useState<{ sent: number; failed: number; total: number; running: boolean; lastError?: string } | null>(null);
  const stopRef = useRef<(() => void) | null>(null);
  useEffect(() => () => stopRef.current?.(), []);

  const run = () => {
    const total = count;
    let issued = 0;
    let sent = 0;
    let failed = 0;
    let lastError: string | undefined;
    setProgress({ sent: 0, failed: 0, total, running: true });
    const finish = () => {
      clearInterval(timer);
      stopRef.current = null;
      setProgress({ sent, failed, total, running: false, lastError });
      onDone();
    };
    const timer = setInterval(() => {
      if (issued >= total) return;
      const index = issued++;
      start(index)
        .then(() => (sent += 1))
        .catch((error: unknown) => {
          failed += 1;
          lastError = (error as Error).message.split("\n")[0];
        })
        .finally(() => {
          setProgress({ sent, failed, total, running: sent + failed < total, lastError });
          if (sent + failed >= total) finish();
        });
    }, 1000 / rate);
    stopRef.current = () => {
      clearInterval(timer);
      setProgress({ sent, failed, total: issued, running: false, lastError });
    };
  };

  const done = progress ? progress.sent + progress.failed : 0;
  return (
    <details className="ep-load-generator">
      <summary>Load generator</summary>
      <p className="muted small">Starts many instances, each with fresh sample data.</p>
      <div className="ep-panel-row">
        <label className="small">
          Instances <input className="input narrow" type="number" min={1} max={10_000} value={count} onChange={(event) => setCount(Math.max(1, Math.min(10_000, Number(event.target.value) || 1)))} />
        </label>
        <label className="small">
          per second <input className="input narrow" type="number" min={1} max={200} value={rate} onChange={(event) => setRate(Math.max(1, Math.min(200, Number(event.target.value) || 1)))} />
        </label>
      </div>
      <div className="ep-panel-row">
        {progress?.running ? (
          <button type="button" className="button small danger" onClick={() => stopRef.current?.()}>
            Stop
          </button>
        ) : (
          <button type="button" className="button small" onClick={run}>
            Start {count} instances
          </button>
        )}
      </div>
      {progress ? (
        <>
          <progress max={progress.total} value={done} aria-label="Instances started" />
          <p className="small" role="status">
            {progress.sent} started{progress.failed > 0 ? `, ${progress.failed} refused` : ""} of {progress.total}
            {progress.lastError ? ` (${progress.lastError})` : ""}
          </p>
        </>
      ) : null}
    </details>
  );
}

function RecentInstances({ boardId }: { boardId: string }) {
  const trpc = useTRPC();
  const instances = useQuery({ ...trpc.runtime.instances.queryOptions({ boardId, limit: 10 }), refetchInterval: 1500 });
  return (
    <section aria-label="Recent instances">
      <h3 className="ep-panel-heading">Recent instances</h3>
      {instances.isError ? <p className="error-text">{instances.error.message}</p> : null}
      {instances.data?.instances.length === 0 ? <p className="muted small">None yet.</p> : null}
      {instances.data && instances.data.instances.length > 0 ? (
        <Link href="/runs" className="small">
          All runs
        </Link>
      ) : null}
      <ul className="ep-instance-list" data-testid="recent-instances">
        {instances.data?.instances.map((instance) => (
          <li key={instance.id} className="ep-instance-row">
            <span className={`ep-status-dot ep-status-${instance.status}`} aria-hidden />
            <Link href={`/runs/${encodeURIComponent(instance.id)}`} className="ep-instance-key mono" title={instance.id}>
              {instance.correlationKey || instance.id}
            </Link>
            <span className="instance-status" data-status={instance.status}>
              {statusLabel[instance.status] ?? instance.status}
            </span>
            <span className="muted small">{instance.startedAt.toLocaleTimeString()}</span>
          </li>
        ))}
      </ul>
    </section>
  );
}
