/**
 * The state of a process instance after any record of its stream, for the timeline's time
 * slider. The runtime's own fold (evolveProcess in server/runtime/core/process.ts) cannot be
 * bundled for the browser — its module hashes ids with node:crypto — so this is the same fold
 * over the same types; process-state.test.ts checks the two agree record by record.
 */
import type { ProcessRecord, ProcessState, StepState } from "@/server/runtime/core/process.ts";
import { isProcessRecordType, type CloudEvent } from "./cloud-events.ts";

export type { ProcessState };

export function initialState(): ProcessState {
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

function withStep(state: ProcessState, stepId: string, changes: Partial<StepState>): ProcessState {
  const step = state.steps[stepId];
  if (!step) return state;
  return { ...state, steps: { ...state.steps, [stepId]: { ...step, ...changes } } };
}

function without<T>(record: Record<string, T>, key: string): Record<string, T> {
  const { [key]: _removed, ...rest } = record;
  return rest;
}

export function applyRecord(state: ProcessState, record: ProcessRecord): ProcessState {
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
    case "$CommandOutcomeReceived": {
      const { outcome, commandMessageId, at } = record.data;
      return {
        ...state,
        lastActivityAt: at,
        outstandingCompensations: outcome === "handled" ? state.outstandingCompensations.filter((id) => id !== commandMessageId) : state.outstandingCompensations,
      };
    }
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
      return withStep(state, record.data.stepId, { status: "done", deadlineTimerId: null });
    case "$StepTimedOut":
      return withStep(state, record.data.stepId, { status: "timed-out", deadlineTimerId: null });
    case "$StepFailed":
      return withStep(state, record.data.stepId, { status: "failed" });
    case "$TimerScheduled": {
      const timers = { ...state.timers, [record.data.timerId]: record.data };
      if (record.data.kind === "deadline" && record.data.stepId !== null) return withStep({ ...state, timers }, record.data.stepId, { deadlineTimerId: record.data.timerId });
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

/** The instance's own records among the events of its correlation. */
export function isRecordOf(instanceId: string, event: Pick<CloudEvent, "stream" | "type">): boolean {
  return event.stream === instanceId && isProcessRecordType(event.type);
}

/**
 * The instance's state once every event up to and including `position` happened. `events` are the
 * correlation's events in log order; only the instance's own records change its state.
 */
export function stateAfter(events: readonly Pick<CloudEvent, "stream" | "type" | "data" | "position">[], instanceId: string, position: number): ProcessState {
  let state = initialState();
  for (const event of events) {
    if (event.position > position) break;
    if (isRecordOf(instanceId, event)) state = applyRecord(state, { type: event.type, data: event.data } as ProcessRecord);
  }
  return state;
}
