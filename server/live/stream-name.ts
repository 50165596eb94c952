/**
 * Names of the streams served over HTTP. Every name is `all` or `{kind}-{value}`; the value is
 * everything after the first hyphen, taken verbatim (it may contain hyphens itself), and is
 * percent-encoded as one path segment in URLs (see streamPath).
 *
 *   all                      the global log
 *   context-{context}        events whose metadata.context is {context}
 *   definition-{id}          events whose metadata.definitionId is {id} (every version)
 *   instance-{correlationId} events whose metadata.correlationId is {correlationId}
 *   stream-{streamId}        the events of one event-store stream (an aggregate, a process instance)
 */
export type StreamSelector =
  | { kind: "all" }
  | { kind: "context"; context: string }
  | { kind: "definition"; definitionId: string }
  | { kind: "instance"; correlationId: string }
  | { kind: "stream"; streamId: string };

export type StreamKind = StreamSelector["kind"];

export type StreamNameResult = { ok: true; selector: StreamSelector; name: string } | { ok: false; message: string };

const PREFIXED_KINDS = ["context", "definition", "instance", "stream"] as const;
// Event-store stream ids and metadata values are indexed; longer values cannot exist.
const MAX_VALUE_BYTES = 1000;

export function streamName(selector: StreamSelector): string {
  switch (selector.kind) {
    case "all":
      return "all";
    case "context":
      return `context-${selector.context}`;
    case "definition":
      return `definition-${selector.definitionId}`;
    case "instance":
      return `instance-${selector.correlationId}`;
    case "stream":
      return `stream-${selector.streamId}`;
    default: {
      const unreachable: never = selector;
      throw new Error(`unknown stream selector ${JSON.stringify(unreachable)}`);
    }
  }
}

export function parseStreamName(name: string): StreamNameResult {
  if (name === "all") return { ok: true, selector: { kind: "all" }, name };
  const dash = name.indexOf("-");
  const kind = dash > 0 ? name.slice(0, dash) : name;
  const value = dash > 0 ? name.slice(dash + 1) : "";
  if (!(PREFIXED_KINDS as readonly string[]).includes(kind)) {
    return {
      ok: false,
      message: `Unknown stream ${JSON.stringify(name)}: a stream is "all", "context-{context}", "definition-{definitionId}", "instance-{correlationId}" or "stream-{streamId}"`,
    };
  }
  if (value.length === 0) return { ok: false, message: `Unknown stream ${JSON.stringify(name)}: "${kind}-" needs a value after the hyphen` };
  if (new TextEncoder().encode(value).length > MAX_VALUE_BYTES) return { ok: false, message: `Unknown stream: the ${kind} value is longer than ${MAX_VALUE_BYTES} bytes` };
  const selector = selectorOf(kind as (typeof PREFIXED_KINDS)[number], value);
  return { ok: true, selector, name };
}

function selectorOf(kind: (typeof PREFIXED_KINDS)[number], value: string): StreamSelector {
  switch (kind) {
    case "context":
      return { kind, context: value };
    case "definition":
      return { kind, definitionId: value };
    case "instance":
      return { kind, correlationId: value };
    case "stream":
      return { kind, streamId: value };
    default: {
      const unreachable: never = kind;
      throw new Error(`unknown stream kind ${String(unreachable)}`);
    }
  }
}

/** The URL path of a stream (or of one of its pages, with `suffix` such as "1-20" or "current"). */
export function streamPath(name: string, suffix?: string): string {
  const base = `/api/streams/${encodeURIComponent(name)}`;
  return suffix === undefined ? base : `${base}/${suffix}`;
}

/** What an event must carry to belong to a stream; the fields the hub routes by. */
export interface RoutableEvent {
  streamId: string;
  metadata: { context?: unknown; definitionId?: unknown; correlationId?: unknown };
}

/** The names of every stream an event appears in, `all` first. */
export function streamNamesOf(event: RoutableEvent): string[] {
  const names = ["all", `stream-${event.streamId}`];
  const { context, definitionId, correlationId } = event.metadata;
  if (typeof context === "string" && context.length > 0) names.push(`context-${context}`);
  if (typeof definitionId === "string" && definitionId.length > 0) names.push(`definition-${definitionId}`);
  if (typeof correlationId === "string" && correlationId.length > 0) names.push(`instance-${correlationId}`);
  return names;
}

export function selectorMatches(selector: StreamSelector, event: RoutableEvent): boolean {
  switch (selector.kind) {
    case "all":
      return true;
    case "context":
      return event.metadata.context === selector.context;
    case "definition":
      return event.metadata.definitionId === selector.definitionId;
    case "instance":
      return event.metadata.correlationId === selector.correlationId;
    case "stream":
      return event.streamId === selector.streamId;
    default: {
      const unreachable: never = selector;
      throw new Error(`unknown stream selector ${JSON.stringify(unreachable)}`);
    }
  }
}
