/** `"no_stream"`: the stream must not exist yet; a number: the stream's current version (0 = no events); `"any"`: no check. */
export type ExpectedVersion = "no_stream" | "any" | number;

/** Standard metadata every stored event carries; callers may add more keys. */
export interface EventMetadata {
  messageId: string;
  correlationId?: string;
  causationId?: string;
  definitionId?: string;
  definitionVersion?: number;
  /** Bounded context that recorded the event. */
  context?: string;
  /** ISO time the append was requested. */
  recordedAt: string;
  [key: string]: unknown;
}

export type EventMetadataInput = Partial<Omit<EventMetadata, "recordedAt">> & { recordedAt?: string };

export interface NewEvent<Type extends string = string, Data = unknown> {
  type: Type;
  data: Data;
  /** A missing messageId gets a random UUID; pass your own to make retries idempotent. */
  metadata?: EventMetadataInput;
}

export interface RecordedEvent<Type extends string = string, Data = unknown> {
  /** Global position in the log; unique and increasing in the order positions were assigned. */
  position: number;
  streamId: string;
  /** 1 for a stream's first event, gapless after that. */
  streamVersion: number;
  type: Type;
  data: Data;
  metadata: EventMetadata;
}

export interface AppendResult {
  streamId: string;
  /** Positions of the appended events, in order. */
  positions: number[];
  /** The stream's version after the last of these events: pass it as the next expected version. */
  nextExpectedVersion: number;
  /** True when every message id was already stored: nothing was written, the original positions are returned. */
  duplicate: boolean;
}

export interface AppendOptions {
  expectedVersion?: ExpectedVersion;
}

export interface StreamReadOptions {
  direction?: "forward" | "backward";
  /** Forward: first version returned (default 1). Backward: the highest version returned (default: the newest). */
  fromVersion?: number;
  limit?: number;
}

export interface StreamSlice {
  streamId: string;
  /** The stream's current version (its newest event's version). */
  version: number;
  events: RecordedEvent[];
}

/** Which events of the log to read. All set fields must match. */
export interface EventFilter {
  types?: readonly string[];
  context?: string;
  correlationId?: string;
  streamId?: string;
}

export interface LogReadOptions {
  /** Position of the last event already seen; 0 (default) reads from the start. */
  after?: number;
  limit?: number;
  filter?: EventFilter;
}

export interface LogSlice {
  events: RecordedEvent[];
  /** Pass as `after` to continue; equals the input when nothing new was read. */
  lastPosition: number;
}
