/**
 * A process manager of the definition as a decider over one instance. `decide(input, state, now)`
 * turns an incoming event, a fired timer or a command's outcome into records for the instance's
 * own stream (its inbox and outbox): commands to send, timers to set or cancel, status changes.
 * `evolve(state, record)` folds a record; replaying the stream rebuilds the instance after a crash.
 * No I/O: time comes in as `now`, message and timer ids are derived from the input.
 */
import type { Dispatch, ElementRef, ProcessManagerDefinition, StepDefinition } from "../../definition/v1.ts";
import type { DefinitionIndex } from "./definition-index.ts";
import { applyMapping, holds } from "./expressions.ts";
import { derivedId } from "./ids.ts";
import type { MessageMeta, Payload, RetryPolicy } from "./types.ts";

export const PROCESS_STATUSES = ["running", "completed", "failed", "compensating", "compensated"] as const;
export type ProcessStatus = (typeof PROCESS_STATUSES)[number];
/** What the API reports: `stuck` is a running or compensating instance idle past stuckAfterMs. */
export type InstanceStatus = ProcessStatus | "stuck";
export type StoredStatus = "idle" | ProcessStatus;

export const TERMINAL_STATUSES: readonly ProcessStatus[] = ["completed", "failed", "compensated"];

/** The event a step ran for; compensation and timeout mappings see it as `event`. */
export interface TriggerEvent {
  event: ElementRef;
  payload: Payload;
  meta: MessageMeta;
}

export type CommandPurpose = "step" | "timeout" | "compensation";
export type StepStatus = "waiting" | "done" | "timed-out" | "failed";

export interface StepState {
  status: StepStatus;
  commandMessageId: string;
  trigger: TriggerEvent;
  deadlineTimerId: string | null;
  /** Order in which steps ran; compensation goes backwards. */
  sequence: number;
}

export interface ActiveTimer {
  timerId: string;
  kind: "deadline" | "timer";
  stepId: string | null;
  timer: ElementRef | null;
  fireAt: string;
  trigger: TriggerEvent;
}

export interface ProcessState {
  status: StoredStatus;
  instanceId: string | null;
  correlationKey: string | null;
  /** Every message the instance causes carries it: the id of the message that started it. */
  correlationId: string | null;
  startedAt: string | null;
  lastActivityAt: string | null;
  /** Latest payload of every event seen, by event name (the `process.events` of expressions). */
  events: Record<string, Payload>;
  steps: Record<string, StepState>;
  timers: Record<string, ActiveTimer>;
  commands: Record<string, { purpose: CommandPurpose; stepId: string }>;
  outstandingCompensations: string[];
  reason: string | null;
  stepsRun: number;
}

export interface IssuedCommand {
  messageId: string;
  purpose: CommandPurpose;
  stepId: string;
  command: ElementRef;
  context: ElementRef | null;
  handler: Dispatch["handler"];
  payload: Payload;
  retry: RetryPolicy;
  /** The message that made the instance send it. */
  causationId: string;
}

export type ProcessRecord =
  | { type: "$ProcessStarted"; data: { instanceId: string; processId: string; correlationKey: string; correlationId: string; startedAt: string } }
  | { type: "$MessageReceived"; data: { messageId: string; event: ElementRef; payload: Payload; meta: MessageMeta; at: string } }
  | { type: "$TimerFired"; data: { messageId: string; timerId: string; at: string } }
  | {
      type: "$CommandOutcomeReceived";
      data: { messageId: string; commandMessageId: string; outcome: CommandOutcomeKind; reason: string | null; at: string };
    }
  | { type: "$CommandIssued"; data: IssuedCommand & { expects: ElementRef[]; trigger: TriggerEvent } }
  | { type: "$StepSettled"; data: { stepId: string; by: ElementRef; messageId: string } }
  | { type: "$StepTimedOut"; data: { stepId: string; timerId: string } }
  | { type: "$StepFailed"; data: { stepId: string; commandMessageId: string; reason: string } }
  | { type: "$TimerScheduled"; data: ActiveTimer }
  | { type: "$TimerCancelled"; data: { timerId: string; reason: string } }
  | { type: "$StatusChanged"; data: { from: StoredStatus; to: ProcessStatus; reason: string; at: string } };

export type ProcessRecordType = ProcessRecord["type"];
export const PROCESS_RECORD_TYPES: readonly ProcessRecordType[] = [
  "$ProcessStarted",
  "$MessageReceived",
  "$TimerFired",
  "$CommandOutcomeReceived",
  "$CommandIssued",
  "$StepSettled",
  "$StepTimedOut",
  "$StepFailed",
  "$TimerScheduled",
  "$TimerCancelled",
  "$StatusChanged",
];

export type CommandOutcomeKind = "handled" | "rejected" | "discarded";

export type ProcessInput =
  | { kind: "event"; messageId: string; event: ElementRef; payload: Payload; meta: MessageMeta }
  | { kind: "timer-fired"; messageId: string; timerId: string }
  | { kind: "command-outcome"; messageId: string; commandMessageId: string; outcome: CommandOutcomeKind; reason: string | null };

export interface ProcessDecision {
  /** Appended to the instance stream in this order; empty when the input does not concern the instance. */
  records: ProcessRecord[];
  commands: IssuedCommand[];
  timersToSet: ActiveTimer[];
  timersToCancel: string[];
  status: { from: StoredStatus; to: ProcessStatus; reason: string } | null;
}

export interface ProcessContext {
  process: ProcessManagerDefinition;
  index: DefinitionIndex;
  instanceId: string;
  correlationKey: string;
}

export function initialProcessState(): ProcessState {
  return {
    status: "idle",
    instanceId: null,
    correlationKey: null,
    correlationId: null,
    startedAt: null,
    lastActivityAt: null,
    events: {},
    steps: {},
    timers: {},
    commands: {},
    outstandingCompensations: [],
    reason: null,
    stepsRun: 0,
  };
}

export function isTerminal(status: StoredStatus): boolean {
  return (TERMINAL_STATUSES as readonly string[]).includes(status);
}

function without<V>(record: Record<string, V>, key: string): Record<string, V> {
  const copy = { ...record };
  delete copy[key];
  return copy;
}

export function evolveProcess(state: ProcessState, record: ProcessRecord): ProcessState {
  switch (record.type) {
    case "$ProcessStarted":
      return {
        ...state,
        instanceId: record.data.instanceId,
        correlationKey: record.data.correlationKey,
        correlationId: record.data.correlationId,
        startedAt: record.data.startedAt,
        lastActivityAt: record.data.startedAt,
      };
    case "$MessageReceived":
      return { ...state, events: { ...state.events, [record.data.event.name]: record.data.payload }, lastActivityAt: record.data.at };
    case "$TimerFired":
      return { ...state, timers: without(state.timers, record.data.timerId), lastActivityAt: record.data.at };
    case "$CommandOutcomeReceived":
      return {
        ...state,
        lastActivityAt: record.data.at,
        outstandingCompensations:
          record.data.outcome === "handled" ? state.outstandingCompensations.filter((id) => id !== record.data.commandMessageId) : state.outstandingCompensations,
      };
    case "$CommandIssued": {
      const issued = record.data;
      const commands = { ...state.commands, [issued.messageId]: { purpose: issued.purpose, stepId: issued.stepId } };
      switch (issued.purpose) {
        case "step":
          return {
            ...state,
            commands,
            stepsRun: state.stepsRun + 1,
            steps: {
              ...state.steps,
              [issued.stepId]: {
                status: issued.expects.length > 0 ? "waiting" : "done",
                commandMessageId: issued.messageId,
                trigger: issued.trigger,
                deadlineTimerId: null,
                sequence: state.stepsRun + 1,
              },
            },
          };
        case "timeout":
          return { ...state, commands };
        case "compensation":
          return { ...state, commands, outstandingCompensations: [...state.outstandingCompensations, issued.messageId] };
        default: {
          const unknownPurpose: never = issued.purpose;
          throw new Error(`unknown command purpose ${String(unknownPurpose)}`);
        }
      }
    }
    case "$StepSettled":
      return updateStep(state, record.data.stepId, { status: "done", deadlineTimerId: null });
    case "$StepTimedOut":
      return updateStep(state, record.data.stepId, { status: "timed-out", deadlineTimerId: null });
    case "$StepFailed":
      return updateStep(state, record.data.stepId, { status: "failed" });
    case "$TimerScheduled": {
      const timers = { ...state.timers, [record.data.timerId]: record.data };
      if (record.data.kind === "deadline" && record.data.stepId !== null) {
        return updateStep({ ...state, timers }, record.data.stepId, { deadlineTimerId: record.data.timerId });
      }
      return { ...state, timers };
    }
    case "$TimerCancelled":
      return { ...state, timers: without(state.timers, record.data.timerId) };
    case "$StatusChanged":
      return { ...state, status: record.data.to, reason: record.data.reason };
    default: {
      const unknownRecord: never = record;
      throw new Error(`unknown process record ${JSON.stringify(unknownRecord)}`);
    }
  }
}

function updateStep(state: ProcessState, stepId: string, changes: Partial<StepState>): ProcessState {
  const step = state.steps[stepId];
  if (!step) return state;
  return { ...state, steps: { ...state.steps, [stepId]: { ...step, ...changes } } };
}

function triggersOn(step: StepDefinition, eventId: string): boolean {
  return step.triggers.some((trigger) => trigger.kind === "event" && trigger.event.id === eventId);
}

function triggersAnyStep(process: ProcessManagerDefinition, eventId: string): boolean {
  return process.steps.some((step) => step.triggers.some((trigger) => trigger.event.id === eventId));
}

/** Builds one decision, folding each record into a working state so later choices see earlier ones. */
class DecisionBuilder {
  readonly records: ProcessRecord[] = [];
  working: ProcessState;

  constructor(
    private readonly context: ProcessContext,
    state: ProcessState,
    private readonly input: ProcessInput,
    readonly now: Date,
  ) {
    this.working = state;
  }

  get at(): string {
    return this.now.toISOString();
  }

  emit(record: ProcessRecord): void {
    this.records.push(record);
    this.working = evolveProcess(this.working, record);
  }

  changeStatus(to: ProcessStatus, reason: string): void {
    if (this.working.status === to) return;
    this.emit({ type: "$StatusChanged", data: { from: this.working.status, to, reason, at: this.at } });
  }

  private processView() {
    return {
      instanceId: this.context.instanceId,
      correlationKey: this.context.correlationKey,
      startedAt: this.working.startedAt,
      events: this.working.events,
    };
  }

  private policyInput(trigger: TriggerEvent) {
    return { event: trigger.payload, meta: trigger.meta, process: this.processView() };
  }

  async issue(step: StepDefinition, dispatch: Dispatch, purpose: CommandPurpose, trigger: TriggerEvent): Promise<string> {
    const where = `${this.context.process.name} step ${step.name} (${purpose})`;
    const payload = await applyMapping(dispatch.mapping, this.policyInput(trigger), where);
    const messageId = derivedId(this.context.instanceId, this.input.messageId, step.id, purpose);
    this.emit({
      type: "$CommandIssued",
      data: {
        messageId,
        purpose,
        stepId: step.id,
        command: dispatch.command,
        context: dispatch.context,
        handler: dispatch.handler,
        payload,
        retry: step.retry,
        causationId: this.input.messageId,
        expects: purpose === "step" ? step.expects : [],
        trigger,
      },
    });
    return messageId;
  }

  async runStep(step: StepDefinition, trigger: TriggerEvent): Promise<void> {
    const where = `${this.context.process.name} step ${step.name} condition`;
    if (!(await holds(step.condition, this.policyInput(trigger), where))) return;
    const commandMessageId = await this.issue(step, step.send, "step", trigger);
    if (step.deadline && step.expects.length > 0) {
      this.emit({
        type: "$TimerScheduled",
        data: {
          timerId: derivedId(this.context.instanceId, commandMessageId, "deadline"),
          kind: "deadline",
          stepId: step.id,
          timer: null,
          fireAt: new Date(this.now.getTime() + step.deadline.afterMs).toISOString(),
          trigger,
        },
      });
    }
  }

  cancelTimers(reason: string): void {
    for (const timerId of Object.keys(this.working.timers)) this.emit({ type: "$TimerCancelled", data: { timerId, reason } });
  }

  async compensate(reason: string): Promise<void> {
    this.cancelTimers(reason);
    const toUndo = this.context.process.steps
      .filter((step) => step.compensation !== null && this.working.steps[step.id] !== undefined && this.working.steps[step.id]!.status !== "failed")
      .sort((a, b) => this.working.steps[b.id]!.sequence - this.working.steps[a.id]!.sequence);
    if (toUndo.length === 0) {
      this.changeStatus("failed", reason);
      return;
    }
    this.changeStatus("compensating", reason);
    for (const step of toUndo) await this.issue(step, step.compensation!, "compensation", this.working.steps[step.id]!.trigger);
  }

  decision(): ProcessDecision {
    const commands: IssuedCommand[] = [];
    const timersToSet: ActiveTimer[] = [];
    const timersToCancel: string[] = [];
    let status: ProcessDecision["status"] = null;
    let from: StoredStatus | null = null;
    for (const record of this.records) {
      switch (record.type) {
        case "$CommandIssued": {
          const { expects: _expects, trigger: _trigger, ...command } = record.data;
          commands.push(command);
          break;
        }
        case "$TimerScheduled":
          timersToSet.push(record.data);
          break;
        case "$TimerCancelled":
          timersToCancel.push(record.data.timerId);
          break;
        case "$StatusChanged":
          from ??= record.data.from;
          status = { from, to: record.data.to, reason: record.data.reason };
          break;
        default:
          break;
      }
    }
    return { records: this.records, commands, timersToSet, timersToCancel, status };
  }
}

const NOTHING: ProcessDecision = { records: [], commands: [], timersToSet: [], timersToCancel: [], status: null };

export async function decideProcess(context: ProcessContext, input: ProcessInput, state: ProcessState, now: Date): Promise<ProcessDecision> {
  const builder = new DecisionBuilder(context, state, input, now);
  switch (input.kind) {
    case "event":
      await onEvent(context, builder, input);
      break;
    case "timer-fired":
      await onTimerFired(context, builder, input);
      break;
    case "command-outcome":
      await onCommandOutcome(builder, input);
      break;
    default: {
      const unknownInput: never = input;
      throw new Error(`unknown process input ${JSON.stringify(unknownInput)}`);
    }
  }
  return builder.records.length === 0 ? NOTHING : builder.decision();
}

async function onEvent(context: ProcessContext, builder: DecisionBuilder, input: Extract<ProcessInput, { kind: "event" }>): Promise<void> {
  const { process } = context;
  const eventId = input.event.id;
  const starts = process.start.some((entry) => entry.event.id === eventId);
  const completes = process.completion.some((entry) => entry.event.id === eventId);
  const fails = process.failure.some((entry) => entry.event.id === eventId);

  const alreadyStarted = builder.working.status !== "idle";
  if (!alreadyStarted) {
    // An instance exists only once a start event arrived; anything else for an unknown key is not its business.
    // Policies without a start event (choreography, reactions) have their instance begun by whatever triggers a step.
    const begins = process.start.length === 0 ? triggersAnyStep(process, eventId) : starts;
    if (!begins) return;
    builder.emit({
      type: "$ProcessStarted",
      data: { instanceId: context.instanceId, processId: process.id, correlationKey: context.correlationKey, correlationId: input.meta.correlationId, startedAt: builder.at },
    });
    builder.changeStatus("running", `started by ${input.event.name}`);
  }
  builder.emit({ type: "$MessageReceived", data: { messageId: input.messageId, event: input.event, payload: input.payload, meta: input.meta, at: builder.at } });
  // One instance per correlation value: a second start event is noted, not run again.
  if (isTerminal(builder.working.status) || (alreadyStarted && starts)) return;

  for (const step of process.steps) {
    const current = builder.working.steps[step.id];
    if (current?.status !== "waiting" || !step.expects.some((expected) => expected.id === eventId)) continue;
    builder.emit({ type: "$StepSettled", data: { stepId: step.id, by: input.event, messageId: input.messageId } });
    if (current.deadlineTimerId !== null && builder.working.timers[current.deadlineTimerId]) {
      builder.emit({ type: "$TimerCancelled", data: { timerId: current.deadlineTimerId, reason: `${step.name} settled by ${input.event.name}` } });
    }
  }

  if (completes) {
    builder.cancelTimers(`completed by ${input.event.name}`);
    builder.changeStatus("completed", `${input.event.name} received`);
    return;
  }
  if (fails) {
    if (builder.working.status === "running") await builder.compensate(`${input.event.name} received`);
    return;
  }
  if (builder.working.status !== "running") return;

  const trigger: TriggerEvent = { event: input.event, payload: input.payload, meta: input.meta };
  for (const step of process.steps) {
    if (triggersOn(step, eventId)) await builder.runStep(step, trigger);
  }
  for (const step of process.steps) {
    for (const stepTrigger of step.triggers) {
      if (stepTrigger.kind !== "timer" || stepTrigger.event.id !== eventId) continue;
      const timer = context.index.timersById.get(stepTrigger.timer.id);
      if (!timer) continue;
      const timerId = derivedId(context.instanceId, input.messageId, "timer", timer.id);
      if (builder.working.timers[timerId]) continue;
      builder.emit({
        type: "$TimerScheduled",
        data: {
          timerId,
          kind: "timer",
          stepId: null,
          timer: { id: timer.id, name: timer.name },
          fireAt: new Date(builder.now.getTime() + timer.afterMs).toISOString(),
          trigger,
        },
      });
    }
  }
}

async function onTimerFired(context: ProcessContext, builder: DecisionBuilder, input: Extract<ProcessInput, { kind: "timer-fired" }>): Promise<void> {
  const timer = builder.working.timers[input.timerId];
  // Cancelled (or already fired) before its delivery arrived: nothing to do.
  if (!timer || isTerminal(builder.working.status) || builder.working.status === "idle") return;
  builder.emit({ type: "$TimerFired", data: { messageId: input.messageId, timerId: input.timerId, at: builder.at } });
  if (builder.working.status !== "running") return;
  switch (timer.kind) {
    case "deadline": {
      const step = context.process.steps.find((candidate) => candidate.id === timer.stepId);
      const current = step ? builder.working.steps[step.id] : undefined;
      if (!step || current?.status !== "waiting") return;
      builder.emit({ type: "$StepTimedOut", data: { stepId: step.id, timerId: timer.timerId } });
      const onTimeout = step.deadline?.onTimeout ?? null;
      if (onTimeout) await builder.issue(step, onTimeout, "timeout", current.trigger);
      else await builder.compensate(`the deadline of ${step.name} passed`);
      return;
    }
    case "timer":
      for (const step of context.process.steps) {
        if (step.triggers.some((trigger) => trigger.kind === "timer" && trigger.timer.id === timer.timer?.id)) await builder.runStep(step, timer.trigger);
      }
      return;
    default: {
      const unknownKind: never = timer.kind;
      throw new Error(`unknown timer kind ${String(unknownKind)}`);
    }
  }
}

async function onCommandOutcome(builder: DecisionBuilder, input: Extract<ProcessInput, { kind: "command-outcome" }>): Promise<void> {
  const command = builder.working.commands[input.commandMessageId];
  if (!command || builder.working.status === "idle") return;
  builder.emit({
    type: "$CommandOutcomeReceived",
    data: { messageId: input.messageId, commandMessageId: input.commandMessageId, outcome: input.outcome, reason: input.reason, at: builder.at },
  });
  const status = builder.working.status;
  switch (input.outcome) {
    case "handled":
      if (command.purpose === "compensation" && status === "compensating" && builder.working.outstandingCompensations.length === 0) {
        builder.changeStatus("compensated", `every compensation was handled; compensating because ${builder.working.reason ?? "the process failed"}`);
      }
      return;
    case "rejected":
    case "discarded": {
      const reason = `${input.outcome === "rejected" ? "rejected" : "discarded from the dead-letter queue"}${input.reason ? `: ${input.reason}` : ""}`;
      if (command.purpose === "compensation") {
        if (status === "compensating") builder.changeStatus("failed", `a compensation was ${reason}`);
        return;
      }
      if (status !== "running") return;
      builder.emit({ type: "$StepFailed", data: { stepId: command.stepId, commandMessageId: input.commandMessageId, reason } });
      await builder.compensate(`a command of step ${command.stepId} was ${reason}`);
      return;
    }
    default: {
      const unknownOutcome: never = input.outcome;
      throw new Error(`unknown command outcome ${String(unknownOutcome)}`);
    }
  }
}
