/**
 * What the runtime's modules share: the database, the event store (to wake its subscribers),
 * the clock, caches, test hooks, and what to do once a transaction committed.
 */
import type { Sql, SqlQueryable, SqlTransaction } from "../db/sql.ts";
import { writeCoalesced, type SharedTransactions } from "../db/shared-transactions.ts";
import type { EventStore } from "../eventstore/index.ts";
import type { ContextSettingsCache } from "./contexts.ts";
import type { InspectionEvent } from "./inspection.ts";
import type { OutboxMessage } from "./outbox.ts";
import type { VersionCache } from "./versions.ts";

/** Time as the runtime sees it: deadlines, backoff and leases all read it. Tests inject their own. */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

export interface RuntimeHooks {
  /**
   * Runs inside a handler's transaction once the message passed inbox deduplication, before
   * its effects: what it writes commits if and only if the effects do.
   */
  onEffect?: (tx: SqlQueryable, message: OutboxMessage) => Promise<void>;
}

/** What a committed transaction did, for the notifications that follow it. */
export interface Committed {
  inspection: InspectionEvent[];
  /** Outbox rows were written. */
  enqueued: boolean;
  /** Some of them wait for any worker to claim them (not only one handed to a worker): wake the dispatchers. */
  queuedForAnyWorker: boolean;
  /** Events were appended: wake the event store's subscribers. */
  appended: boolean;
}

export interface RuntimeContext {
  readonly sql: Sql;
  /**
   * Transactions that may share one database transaction with others running at the same time:
   * the worker's handlings, and apart from them (so a start never waits behind the worker's
   * backlog) what arrives from outside.
   */
  readonly shared: { handlings: SharedTransactions; inbound: SharedTransactions };
  readonly store: EventStore;
  readonly clock: Clock;
  readonly versions: VersionCache;
  readonly settings: ContextSettingsCache;
  readonly hooks: RuntimeHooks;
  afterCommit(committed: Committed): void;
}

/** PostgreSQL channel that tells workers in other processes about new outbox rows. */
export const RUNTIME_NOTIFY_CHANNEL = "sagaboard_runtime";

const NOTIFY_SQL = `SELECT pg_notify($1, '')`;

/** Inside a transaction that wrote outbox rows: other processes' workers hear of them at commit. */
export function notifyWorkers(tx: SqlTransaction, sql: Sql): void {
  // PostgreSQL delivers a notification once per transaction however often it is sent; so is it sent.
  if (sql.kind === "postgresql") writeCoalesced(tx, "notify", null, (db) => db.write(NOTIFY_SQL, [RUNTIME_NOTIFY_CHANNEL]));
}

/** Outside a transaction: other processes' workers hear at once (their fault settings changed, say). */
export async function notifyWorkersNow(sql: Sql): Promise<void> {
  if (sql.kind === "postgresql") await sql.query(NOTIFY_SQL, [RUNTIME_NOTIFY_CHANNEL]);
}
