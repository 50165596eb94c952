/**
 * What the Runs area reads from a live CloudEvent (server/live/cloudevent.ts): its bounded
 * context, its time, and whether it is one of a process instance's own records.
 */
import type { CloudEvent } from "@/server/live/cloudevent.ts";
import type { ProcessRecordType } from "@/server/runtime/core/process.ts";

export type { CloudEvent };

const SOURCE_PREFIX = "/sagaboard/";

/** The bounded context an event names (its `source`), or null when the source is its stream. */
export function contextOf(event: Pick<CloudEvent, "source" | "stream">): string | null {
  if (!event.source.startsWith(SOURCE_PREFIX)) return null;
  let origin: string;
  try {
    origin = decodeURIComponent(event.source.slice(SOURCE_PREFIX.length));
  } catch {
    return null;
  }
  return origin === event.stream ? null : origin;
}

export function timeOf(event: Pick<CloudEvent, "time">): number {
  return Date.parse(event.time);
}

// A Record over the union makes the compiler name any record type added to the runtime later.
const PROCESS_RECORDS: Record<ProcessRecordType, true> = {
  $ProcessStarted: true,
  $MessageReceived: true,
  $TimerFired: true,
  $CommandOutcomeReceived: true,
  $CommandIssued: true,
  $StepSettled: true,
  $StepTimedOut: true,
  $StepFailed: true,
  $TimerScheduled: true,
  $TimerCancelled: true,
  $StatusChanged: true,
};

export function isProcessRecordType(type: string): type is ProcessRecordType {
  return Object.hasOwn(PROCESS_RECORDS, type);
}

/** Payloads and records are JSON objects; anything else is read as empty. */
export function objectOf(value: unknown): Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

export function stringOf(value: unknown): string | null {
  return typeof value === "string" ? value : null;
}
