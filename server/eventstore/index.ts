/**
 * The event store: system of record for everything the runtime does, and the CQRS read side.
 *
 * Design, in short:
 * - One table of immutable events (a trigger refuses UPDATE/DELETE/TRUNCATE), a row per stream
 *   with its version, and one PL/pgSQL function that performs a whole batch of appends in a
 *   single statement: idempotency check by message id, version check by locking the stream row,
 *   insert. A rejected append writes nothing and does not disturb the others in the batch.
 * - Why the transaction-id horizon: PostgreSQL hands out positions (a sequence) before commit, so
 *   a transaction can commit after a later position is already visible. A reader that advanced
 *   past that position would skip the event forever. Every event stores an xid8 no lower than its
 *   writer's transaction id; readers take only rows below the oldest running transaction
 *   (pg_snapshot_xmin) and walk them in (transaction_id, position) order, which can only grow.
 *   The stored id is raised to the stream's previous one when lower, so a stream's events never
 *   come out of version order either. Checkpoints are event positions (each one names its row).
 * - Why group commit: PGlite is one connection on one thread, so every statement is a commit and
 *   its fixed cost bounds throughput. Appends arriving while a statement is in flight are queued
 *   and sent together as the next single statement; each keeps its own version check, and one
 *   that fails (conflict, refused payload) fails alone. PostgreSQL gets the same, with a few
 *   statements in flight at once: fewer commits and round trips than one transaction per append.
 *   Each statement locks stream rows in stream-id order, so statements cannot deadlock each other.
 * - Subscriptions and projections are one loop over the same cursor for catch-up and live, woken
 *   in-process by appends, across processes by LISTEN/NOTIFY, and by polling as a fallback.
 *   A projection writes its view rows and its checkpoint in one transaction (exactly once), and
 *   rebuilds into a shadow view that is swapped in atomically once it has caught up.
 */
export { appendToStream, DEFAULT_MAX_EVENT_BYTES, isUniqueViolation, type AppendToStreamOptions } from "./append.ts";
export {
  AppendRaceError,
  ConcurrencyError,
  EventStoreError,
  EventTooLargeError,
  IdempotencyConflictError,
  InvalidArgumentError,
  NotFoundError,
  ProjectionHandlerError,
  type EventStoreErrorCode,
  type NotFoundSubject,
} from "./errors.ts";
export {
  DELETE_ROW,
  defineProjection,
  listProjections,
  projectionLag,
  Projector,
  projectorsOf,
  rebuildProgress,
  type ProjectionDefinition,
  type ProjectionHandler,
  type ProjectionInfo,
  type ProjectionLag,
  type ProjectionUpdate,
  type ProjectorOptions,
  type RebuildProgress,
  type RebuildRun,
  type RebuildStatus,
  type RegisteredProjector,
} from "./projections.ts";
export { countAfter, headPosition, MAX_READ_LIMIT, readLog, readStream, streamVersion } from "./read.ts";
export {
  getReadModelRow,
  MAX_PAGE,
  queryReadModel,
  type JsonValue,
  type ReadModelCondition,
  type ReadModelPage,
  type ReadModelQuery,
  type ReadModelRow,
} from "./read-models.ts";
export { aggregateStream, dropSnapshots, saveSnapshot, type AggregateOptions, type AggregateResult } from "./snapshots.ts";
export { createEventStore, EventStore, type EventStoreOptions } from "./store.ts";
export { Subscription, type SubscribeOptions, type SubscriptionHandler } from "./subscription.ts";
export type {
  AppendOptions,
  AppendResult,
  EventFilter,
  EventMetadata,
  EventMetadataInput,
  ExpectedVersion,
  LogReadOptions,
  LogSlice,
  NewEvent,
  RecordedEvent,
  StreamReadOptions,
  StreamSlice,
} from "./types.ts";
