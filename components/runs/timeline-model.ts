/**
 * The messages of one correlation as the timeline shows them: every stored event of the
 * correlation (domain events, the process instance's records, rejections) becomes one message
 * with a kind, a lane and what caused it.
 *
 * Lanes: one per process instance (its own records), then one per bounded context in order of
 * first appearance; a command sits in the lane of the context that handles it, so its arrow to
 * the events it caused stays inside that lane.
 */
import type { ProcessRecord } from "@/server/runtime/core/process.ts";
import { contextOf, isProcessRecordType, objectOf, stringOf, timeOf, type CloudEvent } from "./cloud-events.ts";
import { formatDuration } from "./format.ts";

export type MessageKind =
  | "event"
  | "command"
  | "compensation"
  | "rejection"
  | "discarded"
  | "step-failed"
  | "step-timed-out"
  | "timer-set"
  | "timer-fired"
  | "timer-cancelled"
  | "started"
  | "status"
  | "received"
  | "settled"
  | "outcome"
  | "record";

export type LaneKind = "process" | "context" | "system";

export interface Lane {
  key: string;
  kind: LaneKind;
  name: string;
}

export interface TimelineMessage {
  position: number;
  /** The stored event's message id (the CloudEvent id). */
  id: string;
  kind: MessageKind;
  /** What the message is called on its card: the event or command name, or what happened. */
  title: string;
  /** A second line: a reason, a status change, a timer's kind. */
  detail: string | null;
  lane: Lane;
  time: number;
  /** Keys other messages name as their cause: the message id, the id of the command a $CommandIssued sent, `timer:{id}` (set) and `fired:{id}`. */
  keys: string[];
  /** The key of the message that caused this one, when it names one. */
  causeKey: string | null;
  event: CloudEvent;
}

export function processLaneKey(instanceId: string): string {
  return `process:${instanceId}`;
}

/** Statuses shown in the tone of their outcome. */
export function statusTone(status: string): "ok" | "danger" | "warn" | "neutral" {
  switch (status) {
    case "completed":
      return "ok";
    case "failed":
    case "stuck":
      return "danger";
    case "compensating":
    case "compensated":
      return "warn";
    default:
      return "neutral";
  }
}

function contextLane(name: string): Lane {
  return { key: `context:${name}`, kind: "context", name };
}

interface Derived {
  kind: MessageKind;
  title: string;
  detail: string | null;
  lane: Lane;
  extraKeys: string[];
  causeKey: string | null;
}

function fromProcessRecord(record: ProcessRecord, processLane: Lane, event: CloudEvent): Derived {
  const time = timeOf(event);
  const causation = event.causationid ?? null;
  const base = { lane: processLane, extraKeys: [] as string[], causeKey: causation };
  switch (record.type) {
    case "$ProcessStarted":
      return { ...base, kind: "started", title: "Instance started", detail: `key ${record.data.correlationKey}` };
    case "$StatusChanged":
      return { ...base, kind: "status", title: record.data.to, detail: record.data.reason };
    case "$MessageReceived":
      return { ...base, kind: "received", title: `Received ${record.data.event.name}`, detail: null, causeKey: record.data.meta.messageId };
    case "$StepSettled":
      return { ...base, kind: "settled", title: `Step ${record.data.stepId} done`, detail: `by ${record.data.by.name}`, causeKey: record.data.messageId };
    case "$CommandIssued": {
      const issued = record.data;
      const lane = issued.context ? contextLane(issued.context.name) : { key: `system:${issued.handler.name}`, kind: "system" as const, name: issued.handler.name };
      const kind: MessageKind = issued.purpose === "compensation" ? "compensation" : "command";
      const detail = issued.purpose === "step" ? `step ${issued.stepId}` : issued.purpose === "timeout" ? `on timeout of ${issued.stepId}` : `compensates ${issued.stepId}`;
      return { kind, title: issued.command.name, detail, lane, extraKeys: [issued.messageId], causeKey: issued.causationId || causation };
    }
    case "$CommandOutcomeReceived": {
      const { outcome, reason, commandMessageId, messageId } = record.data;
      const extraKeys = [messageId];
      switch (outcome) {
        case "handled":
          return { ...base, extraKeys, kind: "outcome", title: "Command handled", detail: null, causeKey: commandMessageId };
        case "rejected":
          return { ...base, extraKeys, kind: "rejection", title: "Rejected", detail: reason, causeKey: commandMessageId };
        case "discarded":
          return { ...base, extraKeys, kind: "discarded", title: "Discarded", detail: reason, causeKey: commandMessageId };
        default: {
          const unknownOutcome: never = outcome;
          throw new Error(`unknown command outcome ${String(unknownOutcome)}`);
        }
      }
    }
    case "$StepFailed":
      return { ...base, kind: "step-failed", title: `Step ${record.data.stepId} failed`, detail: record.data.reason, causeKey: record.data.commandMessageId };
    case "$StepTimedOut":
      return { ...base, kind: "step-timed-out", title: `Step ${record.data.stepId} timed out`, detail: null, causeKey: `fired:${record.data.timerId}` };
    case "$TimerScheduled":
      return {
        ...base,
        extraKeys: [`timer:${record.data.timerId}`],
        kind: "timer-set",
        title: record.data.kind === "deadline" ? "Deadline set" : `Timer ${record.data.timer?.name ?? "set"}`,
        detail: `fires after ${formatDuration(Date.parse(record.data.fireAt) - time)}`,
      };
    case "$TimerFired":
      return { ...base, extraKeys: [record.data.messageId, `fired:${record.data.timerId}`], kind: "timer-fired", title: "Timer fired", detail: null, causeKey: `timer:${record.data.timerId}` };
    case "$TimerCancelled":
      return { ...base, kind: "timer-cancelled", title: "Timer cancelled", detail: record.data.reason, causeKey: `timer:${record.data.timerId}` };
    default: {
      const unknownRecord: never = record;
      throw new Error(`unknown process record ${JSON.stringify(unknownRecord)}`);
    }
  }
}

/** Names a process manager's lane; gets the board (the CloudEvent's definition id) and the process id. */
export type ProcessNamer = (definitionId: string | null, processId: string) => string;

function derive(event: CloudEvent, processLanes: Map<string, Lane>, processName: ProcessNamer): Derived {
  const causation = event.causationid ?? null;
  if (isProcessRecordType(event.type)) {
    let lane = processLanes.get(event.stream);
    if (!lane) {
      const processId = event.type === "$ProcessStarted" ? stringOf(objectOf(event.data).processId) : null;
      lane = { key: processLaneKey(event.stream), kind: "process", name: processId ? processName(event.definitionid ?? null, processId) : event.stream };
      processLanes.set(event.stream, lane);
    }
    return fromProcessRecord({ type: event.type, data: event.data } as ProcessRecord, lane, event);
  }
  const context = contextOf(event);
  const lane = context ? contextLane(context) : { key: `stream:${event.stream}`, kind: "system" as const, name: event.stream };
  if (event.type === "$CommandRejected") {
    const data = objectOf(event.data);
    return {
      kind: "rejection",
      title: `${stringOf(data.command) ?? "Command"} rejected`,
      detail: stringOf(data.reason),
      lane,
      extraKeys: [],
      causeKey: stringOf(data.commandMessageId) ?? causation,
    };
  }
  if (event.type.startsWith("$")) return { kind: "record", title: event.type.slice(1), detail: null, lane, extraKeys: [], causeKey: causation };
  // A start event names itself as its cause.
  return { kind: "event", title: event.type, detail: null, lane, extraKeys: [], causeKey: causation === event.id ? null : causation };
}

/** `events` in log order (as mergeByPosition keeps them). */
export function timelineMessages(events: readonly CloudEvent[], processName: ProcessNamer = (_board, processId) => processId): TimelineMessage[] {
  const processLanes = new Map<string, Lane>();
  return events.map((event) => {
    const derived = derive(event, processLanes, processName);
    return {
      position: event.position,
      id: event.id,
      kind: derived.kind,
      title: derived.title,
      detail: derived.detail,
      lane: derived.lane,
      time: timeOf(event),
      keys: [event.id, ...derived.extraKeys],
      causeKey: derived.causeKey,
      event,
    };
  });
}

/** Lanes in the order the timeline draws them: process instances first, then contexts and systems as they appear. */
export function lanesOf(messages: readonly TimelineMessage[]): Lane[] {
  const seen = new Map<string, Lane>();
  for (const message of messages) if (!seen.has(message.lane.key)) seen.set(message.lane.key, message.lane);
  const lanes = [...seen.values()];
  return [...lanes.filter((lane) => lane.kind === "process"), ...lanes.filter((lane) => lane.kind !== "process")];
}

/** Messages drawn as small marks, not cards: the instance's bookkeeping. */
export function isBookkeeping(kind: MessageKind): boolean {
  switch (kind) {
    case "received":
    case "settled":
    case "outcome":
      return true;
    case "event":
    case "command":
    case "compensation":
    case "rejection":
    case "discarded":
    case "step-failed":
    case "step-timed-out":
    case "timer-set":
    case "timer-fired":
    case "timer-cancelled":
    case "started":
    case "status":
    case "record":
      return false;
    default: {
      const unknownKind: never = kind;
      throw new Error(`unknown message kind ${String(unknownKind)}`);
    }
  }
}

/** The payload a message carries: a command's, a received event's, or the record itself. */
export function payloadOf(message: TimelineMessage): unknown {
  const data = objectOf(message.event.data);
  switch (message.kind) {
    case "command":
    case "compensation":
    case "received":
      return data.payload;
    case "rejection":
      return "payload" in data ? data.payload : message.event.data;
    case "event":
    case "discarded":
    case "step-failed":
    case "step-timed-out":
    case "timer-set":
    case "timer-fired":
    case "timer-cancelled":
    case "started":
    case "status":
    case "settled":
    case "outcome":
    case "record":
      return message.event.data;
    default: {
      const unknownKind: never = message.kind;
      throw new Error(`unknown message kind ${String(unknownKind)}`);
    }
  }
}
