import pg from "pg";
import type { Sql } from "../db/sql.ts";
import type { Storage } from "../db/storage.ts";
import {
  DEFAULT_MAX_EVENT_BYTES,
  encodeAppend,
  executeAppends,
  executeAppendsInStreamOrder,
  isUniqueViolation,
  type AppendOutcome,
  type EncodedAppend,
} from "./append.ts";
import { InvalidArgumentError } from "./errors.ts";
import { countAfter, headPosition, readLog, readStream, streamVersion } from "./read.ts";
import { aggregateStream, type AggregateOptions, type AggregateResult } from "./snapshots.ts";
import { Subscription, type SubscribeOptions, type SubscriptionHandler } from "./subscription.ts";
import type {
  AppendOptions,
  AppendResult,
  EventFilter,
  LogReadOptions,
  LogSlice,
  NewEvent,
  StreamReadOptions,
  StreamSlice,
} from "./types.ts";

export interface EventStoreOptions {
  /** Largest serialized event (data + metadata) accepted; default 1 MiB. */
  maxEventBytes?: number;
  /**
   * Merge appends that arrive while writes are in flight into shared statements (default on).
   * Off: one statement, so one transaction, per append.
   */
  groupCommit?: boolean;
  /** Upper bound on events merged into one statement. */
  maxGroupEvents?: number;
  /**
   * Merged statements in flight at once. PGlite has one connection, so 1; on PostgreSQL a few
   * lanes keep one slow statement (a stream row locked by a caller's transaction) from holding
   * up every append. Default: 1 on PGlite, 4 on PostgreSQL.
   */
  groupLanes?: number;
  /** PostgreSQL: at most one NOTIFY per this many milliseconds (default 10); appends in between share it. */
  notifyIntervalMs?: number;
  /** How often subscriptions look for new events when no notification arrives. */
  pollIntervalMs?: number;
  /** PostgreSQL LISTEN/NOTIFY channel that tells other processes about new events. */
  notifyChannel?: string;
}

interface PendingAppend {
  encoded: EncodedAppend;
  resolve(result: AppendResult): void;
  reject(error: unknown): void;
}

const CHANNEL_PATTERN = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * The event store over one Sql connection (PGlite) or pool (PostgreSQL). Appends, reads,
 * aggregates and subscriptions; projections are built on top (see projections.ts).
 */
export class EventStore {
  readonly sql: Sql;
  readonly maxEventBytes: number;
  readonly groupCommit: boolean;
  readonly pollIntervalMs: number;
  readonly notifyChannel: string;
  private readonly maxGroupEvents: number;
  private readonly groupLanes: number;
  private readonly notifyIntervalMs: number;
  private readonly queue: PendingAppend[] = [];
  private flushScheduled = false;
  private lanesInFlight = 0;
  private lanesIdle: (() => void) | undefined;
  private generation = 0;
  private readonly waiters = new Set<() => void>();
  private notifyInFlight: Promise<void> | undefined;
  private notifyTimer: ReturnType<typeof setTimeout> | undefined;
  private notifyAgain = false;
  private lastNotifyAt = 0;
  private readonly subscriptions = new Set<Subscription>();
  private commitListeners = 0;
  private listener: pg.Client | undefined;
  private listenerOpening: Promise<void> | undefined;
  private listenerRetry: ReturnType<typeof setTimeout> | undefined;
  private closed = false;
  private closing: Promise<void> | undefined;

  constructor(sql: Sql, options: EventStoreOptions = {}) {
    this.sql = sql;
    this.maxEventBytes = options.maxEventBytes ?? DEFAULT_MAX_EVENT_BYTES;
    this.groupCommit = options.groupCommit ?? true;
    this.maxGroupEvents = options.maxGroupEvents ?? 2000;
    this.groupLanes = sql.kind === "pglite" ? 1 : (options.groupLanes ?? 4);
    this.notifyIntervalMs = options.notifyIntervalMs ?? 10;
    this.pollIntervalMs = options.pollIntervalMs ?? 500;
    this.notifyChannel = options.notifyChannel ?? "sagaboard_events";
    if (!CHANNEL_PATTERN.test(this.notifyChannel)) {
      throw new InvalidArgumentError("notify channel", this.notifyChannel, "must be a lower-case SQL identifier");
    }
  }

  /** Appends to one stream; concurrency conflicts reject with ConcurrencyError and write nothing. */
  async append(streamId: string, events: readonly NewEvent[], options: AppendOptions = {}): Promise<AppendResult> {
    this.assertOpen();
    const encoded = encodeAppend(streamId, events, options.expectedVersion ?? "any", { maxEventBytes: this.maxEventBytes });
    if (!this.groupCommit) return this.settle(await this.appendAlone(encoded));
    return new Promise<AppendResult>((resolve, reject) => {
      this.queue.push({ encoded, resolve, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        // Appends issued in the same tick join the same statement.
        queueMicrotask(() => {
          this.flushScheduled = false;
          this.startLanes();
        });
      }
    });
  }

  private settle(outcome: AppendOutcome): AppendResult {
    if (!outcome.ok) throw outcome.error;
    if (!outcome.result.duplicate) this.announce();
    return outcome.result;
  }

  private async appendAlone(encoded: EncodedAppend): Promise<AppendOutcome> {
    try {
      return (await executeAppends(this.sql, [encoded]))[0]!;
    } catch (error) {
      // A concurrent append of the same message id won the unique index; the retry finds it stored.
      if (!isUniqueViolation(error)) throw error;
      return (await executeAppends(this.sql, [encoded]))[0]!;
    }
  }

  /** Starts a statement with everything queued on each free lane. */
  private startLanes(): void {
    while (this.queue.length > 0 && this.lanesInFlight < this.groupLanes) {
      let events = 0;
      let take = 0;
      while (take < this.queue.length) {
        const size = this.queue[take]!.encoded.messageIds.length;
        if (take > 0 && events + size > this.maxGroupEvents) break;
        events += size;
        take += 1;
      }
      const batch = this.queue.splice(0, take);
      this.lanesInFlight += 1;
      void this.runGroup(batch).finally(() => {
        this.lanesInFlight -= 1;
        this.startLanes();
        if (this.lanesInFlight === 0 && this.queue.length === 0) this.lanesIdle?.();
      });
    }
  }

  private async runGroup(batch: PendingAppend[]): Promise<void> {
    let outcomes: AppendOutcome[];
    try {
      outcomes = await executeAppendsInStreamOrder(
        this.sql,
        batch.map((pending) => pending.encoded),
      );
    } catch (error) {
      if (batch.length === 1 && !isUniqueViolation(error)) {
        batch[0]!.reject(error);
        return;
      }
      // The merged statement failed as a whole (a payload PostgreSQL refuses, a raced message
      // id, a deadlock with a caller's transaction); running each append alone confines the
      // failure to the one that caused it.
      for (const pending of batch) {
        try {
          this.deliver(pending, await this.appendAlone(pending.encoded));
        } catch (error) {
          pending.reject(error);
        }
      }
      return;
    }
    batch.forEach((pending, index) => this.deliver(pending, outcomes[index]!));
  }

  private deliver(pending: PendingAppend, outcome: AppendOutcome): void {
    try {
      pending.resolve(this.settle(outcome));
    } catch (error) {
      pending.reject(error);
    }
  }

  /**
   * Tells subscribers that events were committed: at once in this process, and through NOTIFY
   * on PostgreSQL. NOTIFY is a transaction of its own, so appends share them: at most one per
   * notifyIntervalMs, the last one always sent after the newest commit it covers.
   * Call it after committing a transaction that used appendToStream.
   */
  announce(): void {
    this.wakeLocal();
    if (this.sql.kind !== "postgresql" || this.closed) return;
    this.requestNotify();
  }

  private requestNotify(): void {
    if (this.notifyTimer) return;
    if (this.notifyInFlight) {
      // It may have been sent before this commit; send one more once it is done.
      this.notifyAgain = true;
      return;
    }
    const wait = this.lastNotifyAt + this.notifyIntervalMs - Date.now();
    if (wait > 0) {
      this.notifyTimer = setTimeout(() => {
        this.notifyTimer = undefined;
        this.sendNotify();
      }, wait);
      return;
    }
    this.sendNotify();
  }

  private sendNotify(): void {
    this.lastNotifyAt = Date.now();
    this.notifyAgain = false;
    this.notifyInFlight = this.sql
      .query(`SELECT pg_notify($1, '')`, [this.notifyChannel])
      .then(
        () => {},
        () => {
          // Subscribers in other processes fall back to polling.
        },
      )
      .finally(() => {
        this.notifyInFlight = undefined;
        if (this.notifyAgain && !this.closed) this.requestNotify();
      });
  }

  /** Resolves when events were announced after `since` (see changeGeneration), after `timeoutMs`, or on abort. */
  waitForChange(since: number, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    if (since !== this.generation || signal?.aborted || this.closed) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", done);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      signal?.addEventListener("abort", done, { once: true });
      this.waiters.add(done);
    });
  }

  /** Changes whenever events are announced; read it before a read, pass it to waitForChange after. */
  get changeGeneration(): number {
    return this.generation;
  }

  readStream(streamId: string, options?: StreamReadOptions): Promise<StreamSlice> {
    return readStream(this.sql, streamId, options);
  }

  streamVersion(streamId: string): Promise<number> {
    return streamVersion(this.sql, streamId);
  }

  readLog(options?: LogReadOptions): Promise<LogSlice> {
    return readLog(this.sql, options);
  }

  readByContext(context: string, options: Omit<LogReadOptions, "filter"> = {}): Promise<LogSlice> {
    return readLog(this.sql, { ...options, filter: { context } });
  }

  readByCorrelation(correlationId: string, options: Omit<LogReadOptions, "filter"> = {}): Promise<LogSlice> {
    return readLog(this.sql, { ...options, filter: { correlationId } });
  }

  readByType(types: string | readonly string[], options: Omit<LogReadOptions, "filter"> = {}): Promise<LogSlice> {
    return readLog(this.sql, { ...options, filter: { types: typeof types === "string" ? [types] : types } });
  }

  headPosition(filter?: EventFilter): Promise<number> {
    return headPosition(this.sql, filter);
  }

  countAfter(after: number, filter?: EventFilter): Promise<number> {
    return countAfter(this.sql, after, filter);
  }

  aggregateStream<State>(streamId: string, options: AggregateOptions<State>): Promise<AggregateResult<State>> {
    return aggregateStream(this.sql, streamId, options);
  }

  /**
   * Delivers committed events to `handler` in log order, batch by batch: first those already
   * stored after `options.after`, then new ones as they commit. One cursor serves both phases,
   * so nothing is missed or repeated where catch-up turns into live.
   */
  subscribe(handler: SubscriptionHandler, options: SubscribeOptions = {}): Subscription {
    this.assertOpen();
    const subscription = new Subscription(this, handler, options, () => {
      this.subscriptions.delete(subscription);
      if (!this.needsListener()) this.closeListener();
    });
    this.subscriptions.add(subscription);
    if (this.sql.kind === "postgresql") void this.openListener();
    subscription.start();
    return subscription;
  }

  /**
   * Makes waitForChange hear of events committed by other processes too (LISTEN on PostgreSQL),
   * until the returned function is called: for a reader with its own loop around
   * waitForChange. Subscriptions listen by themselves.
   */
  listenForCommits(): () => void {
    this.assertOpen();
    this.commitListeners += 1;
    if (this.sql.kind === "postgresql") void this.openListener();
    let stopped = false;
    return () => {
      if (stopped) return;
      stopped = true;
      this.commitListeners -= 1;
      if (!this.needsListener()) this.closeListener();
    };
  }

  private needsListener(): boolean {
    return this.subscriptions.size > 0 || this.commitListeners > 0;
  }

  private async openListener(): Promise<void> {
    if (this.listener || this.listenerOpening || this.closed) return;
    const pool = (this.sql as Sql & { pool?: pg.Pool }).pool;
    if (!pool) return;
    this.listenerOpening = (async () => {
      const client = new pg.Client(pool.options as pg.ClientConfig);
      // A notification still in flight when the listener was closed wakes no one.
      client.on("notification", () => {
        if (this.listener === client) this.wakeLocal();
      });
      client.on("error", () => {
        if (this.listener === client) this.listener = undefined;
        client.end().catch(() => {});
        this.scheduleListenerRetry();
      });
      try {
        await client.connect();
        await client.query(`LISTEN ${this.notifyChannel}`);
      } catch {
        client.end().catch(() => {});
        this.scheduleListenerRetry();
        return;
      }
      if (this.closed || !this.needsListener()) {
        await client.end().catch(() => {});
        return;
      }
      this.listener = client;
      // Anything committed while we were connecting is picked up by one more read.
      this.wakeLocal();
    })();
    try {
      await this.listenerOpening;
    } finally {
      this.listenerOpening = undefined;
    }
  }

  private scheduleListenerRetry(): void {
    if (this.closed || !this.needsListener() || this.listenerRetry) return;
    this.listenerRetry = setTimeout(() => {
      this.listenerRetry = undefined;
      void this.openListener();
    }, this.pollIntervalMs * 4);
  }

  private closeListener(): void {
    if (this.listenerRetry) clearTimeout(this.listenerRetry);
    this.listenerRetry = undefined;
    const client = this.listener;
    this.listener = undefined;
    client?.end().catch(() => {});
  }

  private wakeLocal(): void {
    this.generation += 1;
    for (const wake of this.waiters) wake();
    this.waiters.clear();
  }

  private assertOpen(): void {
    if (this.closed) throw new Error("The event store is closed");
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Stops subscriptions and the listener, waits for queued appends and sends a pending NOTIFY; does not close `sql`. */
  close(): Promise<void> {
    this.closing ??= this.shutDown();
    return this.closing;
  }

  private async shutDown(): Promise<void> {
    await Promise.all([...this.subscriptions].map((subscription) => subscription.close()));
    if (this.flushScheduled || this.lanesInFlight > 0 || this.queue.length > 0) {
      await new Promise<void>((resolve) => (this.lanesIdle = resolve));
    }
    await this.notifyInFlight;
    if (this.notifyTimer) {
      clearTimeout(this.notifyTimer);
      this.notifyTimer = undefined;
      this.sendNotify();
    }
    await this.notifyInFlight;
    this.closed = true;
    this.wakeLocal();
    this.closeListener();
    await this.listenerOpening?.catch(() => {});
    this.closeListener();
  }
}

export function createEventStore(storage: Storage | Sql, options?: EventStoreOptions): EventStore {
  return new EventStore("sql" in storage ? storage.sql : storage, options);
}
