import type { ExpectedVersion } from "./types.ts";

export type EventStoreErrorCode =
  | "concurrency"
  | "not_found"
  | "invalid_argument"
  | "event_too_large"
  | "idempotency_conflict"
  | "append_race"
  | "projection_handler";

export abstract class EventStoreError extends Error {
  abstract readonly code: EventStoreErrorCode;
}

/** The stream was not at the expected version; nothing of this append was written. */
export class ConcurrencyError extends EventStoreError {
  override name = "ConcurrencyError";
  readonly code = "concurrency";
  constructor(
    readonly streamId: string,
    readonly expected: ExpectedVersion,
    readonly actual: number,
  ) {
    super(
      `Stream ${JSON.stringify(streamId)} is at version ${actual}, expected ${
        expected === "no_stream" ? "no stream" : expected
      }`,
    );
  }
}

export type NotFoundSubject = "stream" | "position" | "projection";

export class NotFoundError extends EventStoreError {
  override name = "NotFoundError";
  readonly code = "not_found";
  constructor(
    readonly subject: NotFoundSubject,
    readonly id: string | number,
  ) {
    super(`${subject[0]!.toUpperCase()}${subject.slice(1)} ${JSON.stringify(id)} does not exist`);
  }
}

export class InvalidArgumentError extends EventStoreError {
  override name = "InvalidArgumentError";
  readonly code = "invalid_argument";
  constructor(
    readonly argument: string,
    readonly value: unknown,
    reason: string,
  ) {
    super(`Invalid ${argument} ${describe(value)}: ${reason}`);
  }
}

/** Refused before anything was written. */
export class EventTooLargeError extends EventStoreError {
  override name = "EventTooLargeError";
  readonly code = "event_too_large";
  constructor(
    readonly eventType: string,
    readonly size: number,
    readonly limit: number,
  ) {
    super(`Event ${JSON.stringify(eventType)} is ${size} bytes serialized, over the limit of ${limit} bytes`);
  }
}

/** A retried append whose first message id is stored, but not the same events on the same stream. */
export class IdempotencyConflictError extends EventStoreError {
  override name = "IdempotencyConflictError";
  readonly code = "idempotency_conflict";
  constructor(
    readonly streamId: string,
    readonly messageId: string,
  ) {
    super(
      `Message ${JSON.stringify(messageId)} is already stored, but the append to stream ${JSON.stringify(
        streamId,
      )} does not repeat the stored batch`,
    );
  }
}

/**
 * Another transaction appended the same message id at the same moment. Raised only inside a
 * caller's transaction (which PostgreSQL has aborted); retrying it returns the stored positions.
 */
export class AppendRaceError extends EventStoreError {
  override name = "AppendRaceError";
  readonly code = "append_race";
  constructor(readonly streamId: string) {
    super(`A concurrent transaction appended the same message id to stream ${JSON.stringify(streamId)}; retry the transaction`);
  }
}

function describe(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "number" || typeof value === "bigint" || typeof value === "boolean") return String(value);
  if (value === undefined) return "undefined";
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** A projection's key or apply function threw or returned something unusable; the batch was rolled back. */
export class ProjectionHandlerError extends EventStoreError {
  override name = "ProjectionHandlerError";
  readonly code = "projection_handler";
  constructor(
    readonly projection: string,
    readonly eventType: string,
    readonly position: number,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(`Projection ${JSON.stringify(projection)} failed on ${eventType} at position ${position}: ${reason}`, options);
  }
}
