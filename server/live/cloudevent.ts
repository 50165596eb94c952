/**
 * Stored events as CloudEvents 1.0 (JSON format). Store facts that have no CloudEvents attribute
 * travel as extensions, whose names CloudEvents limits to lower-case letters and digits.
 */
import type { RecordedEvent } from "../eventstore/index.ts";

export interface CloudEvent {
  specversion: "1.0";
  /** The event's message id: unique, and stable across retries of the same append. */
  id: string;
  /** `/sagaboard/{context}` when the event names its bounded context, else `/sagaboard/{streamId}`. */
  source: string;
  type: string;
  time: string;
  datacontenttype: "application/json";
  /** The event-store stream, so consumers can tell instances of one context apart. */
  subject: string;
  data: unknown;
  /** Global position in the log; the SSE `id:` and what Last-Event-ID refers to. */
  position: number;
  stream: string;
  streamversion: number;
  correlationid?: string;
  causationid?: string;
  definitionid?: string;
  definitionversion?: number;
}

export function cloudEventSource(event: Pick<RecordedEvent, "streamId" | "metadata">): string {
  const context = event.metadata.context;
  const origin = typeof context === "string" && context.length > 0 ? context : event.streamId;
  return `/sagaboard/${encodeURIComponent(origin)}`;
}

export function toCloudEvent(event: RecordedEvent): CloudEvent {
  const { metadata } = event;
  const cloudEvent: CloudEvent = {
    specversion: "1.0",
    id: metadata.messageId,
    source: cloudEventSource(event),
    type: event.type,
    time: metadata.recordedAt,
    datacontenttype: "application/json",
    subject: event.streamId,
    data: event.data,
    position: event.position,
    stream: event.streamId,
    streamversion: event.streamVersion,
  };
  // Absent rather than null: CloudEvents treats a null attribute as an absent one anyway.
  if (typeof metadata.correlationId === "string") cloudEvent.correlationid = metadata.correlationId;
  if (typeof metadata.causationId === "string") cloudEvent.causationid = metadata.causationId;
  if (typeof metadata.definitionId === "string") cloudEvent.definitionid = metadata.definitionId;
  if (typeof metadata.definitionVersion === "number") cloudEvent.definitionversion = metadata.definitionVersion;
  return cloudEvent;
}
