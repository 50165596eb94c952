import { randomUUID } from "node:crypto";
import type { SqlQueryable } from "../db/sql.ts";
import { coalesce } from "../db/shared-transactions.ts";
import {
  AppendRaceError,
  ConcurrencyError,
  EventTooLargeError,
  IdempotencyConflictError,
  InvalidArgumentError,
  type EventStoreError,
} from "./errors.ts";
import type { AppendResult, ExpectedVersion, NewEvent } from "./types.ts";

export const DEFAULT_MAX_EVENT_BYTES = 1024 * 1024;
// Stream ids, types and message ids are indexed; a B-tree entry must stay under ~2.7 kB.
const MAX_NAME_BYTES = 1000;

function validateName(argument: string, value: unknown): asserts value is string {
  if (typeof value !== "string" || value.length === 0) {
    throw new InvalidArgumentError(argument, value, "must be a non-empty string");
  }
  if (Buffer.byteLength(value) > MAX_NAME_BYTES) {
    throw new InvalidArgumentError(argument, `${value.slice(0, 40)}…`, `is longer than ${MAX_NAME_BYTES} bytes`);
  }
}

/** One append, validated and serialized, ready for the `eventstore_append` function. */
export interface EncodedAppend {
  streamId: string;
  expectedVersion: ExpectedVersion;
  messageIds: string[];
  types: string[];
  data: string[];
  metadata: string[];
}

export interface EncodeOptions {
  maxEventBytes?: number;
  /** Time stamped into metadata.recordedAt when the event has none. */
  now?: Date;
}

export function validateStreamId(streamId: unknown): asserts streamId is string {
  validateName("stream id", streamId);
}

export function validateExpectedVersion(expected: unknown): asserts expected is ExpectedVersion {
  if (expected === "any" || expected === "no_stream") return;
  if (typeof expected === "number" && Number.isSafeInteger(expected) && expected >= 0) return;
  throw new InvalidArgumentError("expected version", expected, `must be "no_stream", "any" or a non-negative integer`);
}

function expectedCode(expected: ExpectedVersion): number {
  if (expected === "any") return -1;
  if (expected === "no_stream") return 0;
  return expected;
}

// PostgreSQL's jsonb cannot hold NUL characters; refuse them here with a clear message.
const NUL_ESCAPE = "\\u0000";

function serialize(value: unknown, what: string, eventType: string): string {
  let json: string | undefined;
  try {
    json = JSON.stringify(value);
  } catch (error) {
    throw new InvalidArgumentError(what, eventType, `cannot be serialized to JSON (${(error as Error).message})`);
  }
  if (json === undefined) throw new InvalidArgumentError(what, eventType, "is not a JSON value");
  if (json.includes(NUL_ESCAPE)) throw new InvalidArgumentError(what, eventType, "contains a NUL character");
  return json;
}

export function encodeAppend(
  streamId: string,
  events: readonly NewEvent[],
  expectedVersion: ExpectedVersion,
  options: EncodeOptions = {},
): EncodedAppend {
  validateStreamId(streamId);
  validateExpectedVersion(expectedVersion);
  if (!Array.isArray(events) || events.length === 0) {
    throw new InvalidArgumentError("events", events, "an append needs at least one event");
  }
  const limit = options.maxEventBytes ?? DEFAULT_MAX_EVENT_BYTES;
  const recordedAt = (options.now ?? new Date()).toISOString();
  const encoded: EncodedAppend = { streamId, expectedVersion, messageIds: [], types: [], data: [], metadata: [] };
  const seen = new Set<string>();
  for (const event of events) {
    validateName("event type", event?.type);
    const { messageId = randomUUID(), ...rest } = event.metadata ?? {};
    validateName("message id", messageId);
    if (seen.has(messageId)) throw new InvalidArgumentError("message id", messageId, "appears twice in one append");
    seen.add(messageId);
    const data = serialize(event.data, "event data of type", event.type);
    const metadata = serialize({ messageId, ...rest, recordedAt: rest.recordedAt ?? recordedAt }, "event metadata of type", event.type);
    const size = Buffer.byteLength(data) + Buffer.byteLength(metadata);
    if (size > limit) throw new EventTooLargeError(event.type, size, limit);
    encoded.messageIds.push(messageId);
    encoded.types.push(event.type);
    encoded.data.push(data);
    encoded.metadata.push(metadata);
  }
  return encoded;
}

export type AppendOutcome = { ok: true; result: AppendResult } | { ok: false; error: EventStoreError };

interface AppendRow {
  r_append: number;
  r_outcome: "ok" | "duplicate" | "conflict" | "idempotency_conflict";
  r_version: number | null;
  r_position: number | null;
}

// Data and metadata travel as one JSON array each: PostgreSQL parses a document far faster than
// it converts a text[] to jsonb[] element by element.
const APPEND_SQL = `SELECT r_append, r_outcome, r_version, r_position FROM eventstore_append(
  $1::text[], $2::bigint[], $3::int[], $4::text[], $5::text[], $6::text::jsonb, $7::text::jsonb)`;

/**
 * Runs several appends in one statement (so in one transaction when `db` is not inside one).
 * Each append is checked on its own: a rejected one writes nothing and reports its error.
 * Throws only when the statement itself fails.
 */
export async function executeAppends(db: SqlQueryable, appends: readonly EncodedAppend[]): Promise<AppendOutcome[]> {
  const streamIds: string[] = [];
  const expected: number[] = [];
  const counts: number[] = [];
  const messageIds: string[] = [];
  const types: string[] = [];
  const data: string[] = [];
  const metadata: string[] = [];
  for (const append of appends) {
    streamIds.push(append.streamId);
    expected.push(expectedCode(append.expectedVersion));
    counts.push(append.messageIds.length);
    messageIds.push(...append.messageIds);
    types.push(...append.types);
    data.push(...append.data);
    metadata.push(...append.metadata);
  }
  const { rows } = await db.query<AppendRow>(APPEND_SQL, [
    streamIds,
    expected,
    counts,
    messageIds,
    types,
    `[${data.join(",")}]`,
    `[${metadata.join(",")}]`,
  ]);

  const grouped: AppendRow[][] = appends.map(() => []);
  for (const row of rows) grouped[row.r_append - 1]!.push(row);
  return appends.map((append, index): AppendOutcome => {
    const appendRows = grouped[index]!;
    const first = appendRows[0];
    if (!first) throw new Error(`eventstore_append returned nothing for append ${index + 1}`);
    switch (first.r_outcome) {
      case "ok":
      case "duplicate":
        return {
          ok: true,
          result: {
            streamId: append.streamId,
            positions: appendRows.map((row) => row.r_position!),
            nextExpectedVersion: Math.max(...appendRows.map((row) => row.r_version!)),
            duplicate: first.r_outcome === "duplicate",
          },
        };
      case "conflict":
        return { ok: false, error: new ConcurrencyError(append.streamId, append.expectedVersion, first.r_version ?? 0) };
      case "idempotency_conflict":
        return { ok: false, error: new IdempotencyConflictError(append.streamId, append.messageIds[0]!) };
      default: {
        const unexpected: never = first.r_outcome;
        throw new Error(`eventstore_append returned unknown outcome ${String(unexpected)}`);
      }
    }
  });
}

/**
 * executeAppends with the stream rows locked in stream-id order, so that two statements appending
 * to the same streams cannot deadlock each other. The sort is stable: appends to one stream keep
 * their order. Outcomes come back in the order of `appends`.
 */
export async function executeAppendsInStreamOrder(db: SqlQueryable, appends: readonly EncodedAppend[]): Promise<AppendOutcome[]> {
  if (appends.length === 1) return executeAppends(db, appends);
  const order = appends.map((_, index) => index).sort((a, b) => (appends[a]!.streamId < appends[b]!.streamId ? -1 : appends[a]!.streamId > appends[b]!.streamId ? 1 : a - b));
  const outcomes = await executeAppends(db, order.map((index) => appends[index]!));
  const byInput: AppendOutcome[] = new Array(appends.length);
  order.forEach((index, position) => (byInput[index] = outcomes[position]!));
  return byInput;
}

export function isUniqueViolation(error: unknown): boolean {
  return typeof error === "object" && error !== null && (error as { code?: unknown }).code === "23505";
}

export interface AppendToStreamOptions extends EncodeOptions {
  expectedVersion?: ExpectedVersion;
}

/**
 * Appends inside the caller's transaction (so outbox rows can be written atomically with the
 * events). A version conflict throws ConcurrencyError and writes nothing, leaving the caller's
 * transaction usable. Subscribers learn of the events at their next poll, or at once when the
 * caller calls `EventStore.announce()` after committing.
 */
export async function appendToStream(
  tx: SqlQueryable,
  streamId: string,
  events: readonly NewEvent[],
  options: AppendToStreamOptions = {},
): Promise<AppendResult> {
  const encoded = encodeAppend(streamId, events, options.expectedVersion ?? "any", options);
  let outcome: AppendOutcome;
  try {
    outcome = await coalesce(tx, "eventstore.append", encoded, (appends: EncodedAppend[]) => executeAppendsInStreamOrder(tx, appends));
  } catch (error) {
    if (isUniqueViolation(error)) throw new AppendRaceError(streamId);
    throw error;
  }
  if (!outcome.ok) throw outcome.error;
  return outcome.result;
}
