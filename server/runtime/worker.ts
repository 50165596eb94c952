/**
 * The dispatcher: claims due outbox rows (stream heads only, so each stream is handled in order,
 * one message at a time) and hands each to its handler, several streams at once. It fires due
 * timers, applies the contexts' fault settings, retries failures with exponential backoff and
 * jitter, and parks what keeps failing. What a handler or the API in this process queues for it
 * is handed over without a claim query. It wakes at once when this process commits other outbox
 * rows, when a message it finishes may let the next of its stream through, on NOTIFY from other
 * processes (PostgreSQL), at the next known due time, and polls otherwise.
 * Any number of workers may run against one PostgreSQL database.
 */
import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import pg from "pg";
import { handleAggregateCommand, type HandleResult } from "./aggregate-handler.ts";
import { RUNTIME_NOTIFY_CHANNEL, type RuntimeContext } from "./context.ts";
import type { ContextSettings } from "./contexts.ts";
import { isPermanent, isTransientDatabaseError, LostClaimError } from "./errors.ts";
import { DEFAULT_EXTERNAL_TIMEOUT_MS, deliverExternal } from "./external-handler.ts";
import { emitInspection } from "./inspection.ts";
import { claim, messageRef, nextDueAt, recordFailure, release, retryDelayMs, type OutboxMessage } from "./outbox.ts";
import { handleProcessDelivery } from "./process-handler.ts";
import { fireDueTimers, nextTimerAt } from "./timers.ts";

export interface WorkerOptions {
  /**
   * Messages handled at once (each from a different stream). Their transactions share database
   * transactions (see SharedTransactions), so more in hand means fewer, fuller commits. Default 32 on
   * PGlite, 64 on PostgreSQL.
   */
  concurrency?: number;
  /** Longest sleep without a wake-up; also how often other processes' timers and faults are noticed. */
  pollIntervalMs?: number;
  /** How long a claim lasts before another worker may take the message over. */
  leaseMs?: number;
  /** A message for a context that is down is looked at again after this long. */
  downRetryMs?: number;
  externalTimeoutMs?: number;
  /** How often instances that became stuck are reported. */
  stuckSweepMs?: number;
  /** Listen for other processes' NOTIFY (PostgreSQL); default on. */
  listen?: boolean;
  /** Randomness for jitter and injected failures (tests make it deterministic). */
  random?: () => number;
  workerId?: string;
  /** Told about errors of the loop itself (a lost database connection); handler errors go to the outbox. */
  onError?: (error: unknown) => void;
}

export interface WorkerStats {
  handled: number;
  duplicates: number;
  failed: number;
  parked: number;
  timersFired: number;
}

/** Why a worker is woken: new outbox rows, or timers set in this process (with their earliest firing time). */
export interface WakeHint {
  timerAt?: Date;
}

export interface WakeSource {
  onWake(listener: (hint?: WakeHint) => void): () => void;
}

export class InjectedFailureError extends Error {
  override name = "InjectedFailureError";
}

export class RuntimeWorker {
  readonly id: string;
  readonly stats: WorkerStats = { handled: 0, duplicates: 0, failed: 0, parked: 0, timersFired: 0 };
  private readonly concurrency: number;
  private readonly pollIntervalMs: number;
  readonly leaseMs: number;
  private readonly downRetryMs: number;
  private readonly externalTimeoutMs: number;
  private readonly stuckSweepMs: number;
  private readonly random: () => number;
  private readonly inFlight = new Set<Promise<void>>();
  private generation = 0;
  /**
   * A claim may have passed over due rows: rows of a stream whose head this worker has in hand,
   * or more rows than it had free slots for. The next message it finishes then wakes the loop to
   * claim again; otherwise finishing one needs no claim query (what a handler queues for this
   * worker is handed over, and other new rows wake the loop themselves).
   */
  private rowsMayWait = false;
  /** A claim query is running: a message finished meanwhile may have let rows behind it through after its snapshot. */
  private claiming = false;
  private waiter: (() => void) | undefined;
  private wakeTimer: ReturnType<typeof setTimeout> | undefined;
  private wakeTimerAt = Infinity;
  private running: Promise<void> | undefined;
  private stopping = false;
  private unsubscribe: (() => void) | undefined;
  private listener: pg.Client | undefined;
  private listenerRetry: ReturnType<typeof setTimeout> | undefined;
  private lastStuckSweep: Date;
  /** When the timers table was last asked for its earliest timer (real time). */
  private lastTimerPoll = 0;
  /** Earliest timer known to be scheduled (clock time); Infinity when none is known. */
  private nextTimerAt = 0;

  constructor(
    private readonly rt: RuntimeContext & WakeSource,
    private readonly options: WorkerOptions = {},
  ) {
    this.id = options.workerId ?? `worker-${randomUUID().slice(0, 8)}`;
    this.concurrency = options.concurrency ?? (rt.sql.kind === "pglite" ? 32 : 64);
    this.pollIntervalMs = options.pollIntervalMs ?? 500;
    this.leaseMs = options.leaseMs ?? 60_000;
    this.downRetryMs = options.downRetryMs ?? 250;
    this.externalTimeoutMs = options.externalTimeoutMs ?? DEFAULT_EXTERNAL_TIMEOUT_MS;
    this.stuckSweepMs = options.stuckSweepMs ?? 5_000;
    this.random = options.random ?? Math.random;
    this.lastStuckSweep = rt.clock.now();
  }

  start(): this {
    if (this.running) return this;
    this.stopping = false;
    this.unsubscribe = this.rt.onWake((hint) => {
      if (hint?.timerAt) this.expectTimer(hint.timerAt);
      this.wake();
    });
    if (this.rt.sql.kind === "postgresql" && this.options.listen !== false) void this.openListener();
    this.running = this.loop();
    return this;
  }

  /** Stops claiming and waits for the messages in hand to finish. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.unsubscribe?.();
    this.wake();
    await this.running;
    this.running = undefined;
    await Promise.allSettled(this.inFlight);
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    if (this.listenerRetry) clearTimeout(this.listenerRetry);
    const listener = this.listener;
    this.listener = undefined;
    await listener?.end().catch(() => {});
  }

  wake(): void {
    this.generation += 1;
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.();
  }

  private wakeAt(at: Date): void {
    const when = at.getTime();
    if (when >= this.wakeTimerAt) return;
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    this.wakeTimerAt = when;
    this.wakeTimer = setTimeout(
      () => {
        this.wakeTimer = undefined;
        this.wakeTimerAt = Infinity;
        this.wake();
      },
      Math.max(0, when - this.rt.clock.now().getTime()),
    );
    this.wakeTimer.unref?.();
  }

  private waitForWake(since: number, timeoutMs: number): Promise<void> {
    if (since !== this.generation || this.stopping) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, timeoutMs);
      const self = this;
      function done() {
        clearTimeout(timer);
        if (self.waiter === done) self.waiter = undefined;
        resolve();
      }
      this.waiter = done;
    });
  }

  private async loop(): Promise<void> {
    while (!this.stopping) {
      const generation = this.generation;
      let claimed = 0;
      try {
        await this.housekeeping();
        const free = this.concurrency - this.inFlight.size;
        if (free > 0) {
          this.claiming = true;
          let messages: OutboxMessage[];
          try {
            messages = await claim(this.rt.sql, { limit: free, leaseMs: this.leaseMs, now: this.rt.clock.now(), token: randomUUID() });
          } finally {
            this.claiming = false;
          }
          claimed = messages.length;
          for (const message of messages) this.track(this.process(message));
          this.rowsMayWait = this.inFlight.size > 0;
        } else {
          this.rowsMayWait = true;
        }
      } catch (error) {
        this.options.onError?.(error);
        await sleep(this.pollIntervalMs);
        continue;
      }
      if (claimed === 0 || this.inFlight.size >= this.concurrency) {
        if (claimed === 0 && this.inFlight.size === 0) await this.scheduleNextDue();
        await this.waitForWake(generation, this.pollIntervalMs);
      }
    }
  }

  private track(work: Promise<void>): void {
    const tracked = work.finally(() => {
      this.inFlight.delete(tracked);
      if (this.rowsMayWait || this.claiming) this.wake();
    });
    this.inFlight.add(tracked);
  }

  private expectTimer(at: Date): void {
    this.nextTimerAt = Math.min(this.nextTimerAt, at.getTime());
    this.wakeAt(at);
  }

  /**
   * Fires due timers: those set in this process are known; others' are found by asking for the
   * earliest scheduled timer once per poll interval. Then the stuck sweep.
   */
  private async housekeeping(): Promise<void> {
    const now = this.rt.clock.now();
    if (Date.now() - this.lastTimerPoll >= this.pollIntervalMs) {
      this.lastTimerPoll = Date.now();
      this.nextTimerAt = (await nextTimerAt(this.rt.sql))?.getTime() ?? Infinity;
    }
    if (this.nextTimerAt <= now.getTime()) {
      this.stats.timersFired += await fireDueTimers(this.rt);
      this.nextTimerAt = (await nextTimerAt(this.rt.sql))?.getTime() ?? Infinity;
      if (Number.isFinite(this.nextTimerAt)) this.wakeAt(new Date(this.nextTimerAt));
    }
    if (now.getTime() - this.lastStuckSweep.getTime() >= this.stuckSweepMs) {
      await this.reportStuck(this.lastStuckSweep, now);
      this.lastStuckSweep = now;
    }
  }

  private async scheduleNextDue(): Promise<void> {
    const due = await nextDueAt(this.rt.sql);
    if (due) this.wakeAt(due);
    if (Number.isFinite(this.nextTimerAt)) this.wakeAt(new Date(this.nextTimerAt));
  }

  /** Instances whose last activity crossed their stuck threshold since the previous sweep. */
  private async reportStuck(since: Date, now: Date): Promise<void> {
    const { rows } = await this.rt.sql.query<{
      id: string;
      board_id: string;
      version_id: string;
      process_id: string;
      correlation_key: string;
      correlation_id: string;
      status: "running" | "compensating";
      stuck_after_ms: number | null;
    }>(
      `SELECT id, board_id, version_id, process_id, correlation_key, correlation_id, status, stuck_after_ms FROM runtime_instances
       WHERE status IN ('running', 'compensating')
         AND last_activity_at + stuck_after_ms * interval '1 millisecond' <= $2
         AND last_activity_at + stuck_after_ms * interval '1 millisecond' > $1
       LIMIT 1000`,
      [since, now],
    );
    emitInspection(
      rows.map((row) => ({
        kind: "instance.status-changed" as const,
        at: now.toISOString(),
        boardId: row.board_id,
        versionId: row.version_id,
        instanceId: row.id,
        processId: row.process_id,
        correlationKey: row.correlation_key,
        correlationId: row.correlation_id,
        from: row.status,
        to: "stuck" as const,
        reason: `waiting for more than ${row.stuck_after_ms} ms`,
      })),
    );
  }

  private async process(message: OutboxMessage): Promise<void> {
    const token = message.claimToken!;
    const ref = messageRef(message);
    let settings: ContextSettings;
    try {
      settings = await this.rt.settings.get(message.boardId, message.contextId);
    } catch (error) {
      await this.fail(message, token, error);
      return;
    }
    if (settings.down) {
      const retryAt = new Date(this.rt.clock.now().getTime() + this.downRetryMs);
      await release(this.rt.sql, message.id, token, retryAt).catch((error: unknown) => this.options.onError?.(error));
      emitInspection({ kind: "message.waiting", at: this.rt.clock.now().toISOString(), reason: `context ${message.contextId} is down`, retryAt: retryAt.toISOString(), ...ref });
      this.wakeAt(retryAt);
      return;
    }
    if (settings.latencyMs > 0) await sleep(settings.latencyMs);
    const attempt = message.attempts + 1;
    const started = performance.now();
    emitInspection({ kind: "message.dispatched", at: this.rt.clock.now().toISOString(), attempt, ...ref });
    try {
      if (settings.failureRate > 0 && this.random() < settings.failureRate) {
        throw new InjectedFailureError(`injected failure: context ${message.contextId} fails ${Math.round(settings.failureRate * 100)}% of its messages`);
      }
      const deliveries = [this.handle(message, token, settings, true), ...Array.from({ length: settings.duplicateDeliveries }, () => this.handle(message, null, settings, false))];
      const results = await Promise.allSettled(deliveries);
      for (const result of results) {
        if (result.status !== "fulfilled") continue;
        this.rt.afterCommit(result.value.log);
        if (result.value.outcome === "duplicate") this.stats.duplicates += 1;
        else this.stats.handled += 1;
        emitInspection({
          kind: "message.handled",
          at: this.rt.clock.now().toISOString(),
          outcome: result.value.outcome,
          reason: result.value.reason,
          events: result.value.events,
          durationMs: performance.now() - started,
          attempt,
          ...ref,
        });
      }
      const first = results[0]!;
      if (first.status === "rejected") throw first.reason;
      if (first.value.next) this.handOver(first.value.next);
    } catch (error) {
      if (error instanceof LostClaimError) return;
      await this.fail(message, token, error);
    }
  }

  /** Running with a free slot: messages the API queues in this process may be handed over. */
  get accepting(): boolean {
    return this.running !== undefined && !this.stopping && this.inFlight.size < this.concurrency;
  }

  /**
   * Handles a message queued and claimed for this worker (by a handling it ran, or by the API in
   * this process) without waiting for a claim query; while stopping it is given back instead.
   */
  handOver(next: OutboxMessage): void {
    if (this.stopping) {
      void release(this.rt.sql, next.id, next.claimToken!, this.rt.clock.now()).catch((error: unknown) => this.options.onError?.(error));
      return;
    }
    this.track(this.process(next));
  }

  private handle(message: OutboxMessage, token: string | null, settings: ContextSettings, mayHandOff: boolean): Promise<HandleResult> {
    const options = { timeoutMs: this.externalTimeoutMs, ...(mayHandOff ? { handoffLeaseMs: this.leaseMs } : {}) };
    switch (message.kind) {
      case "event":
        return handleProcessDelivery(this.rt, message, token, options);
      case "external":
        return deliverExternal(this.rt, message, token, options);
      case "command":
        if (message.metadata.handler?.kind === "externalSystem") return deliverExternal(this.rt, message, token, options);
        if (settings.webhookUrl) return deliverExternal(this.rt, message, token, { ...options, override: { url: settings.webhookUrl, secret: settings.webhookSecret } });
        return handleAggregateCommand(this.rt, message, token, options);
      default: {
        const unknownKind: never = message.kind;
        throw new Error(`unknown outbox kind ${String(unknownKind)}`);
      }
    }
  }

  private async fail(message: OutboxMessage, token: string, error: unknown): Promise<void> {
    const now = this.rt.clock.now();
    if (isTransientDatabaseError(error)) {
      const retryAt = new Date(now.getTime() + retryDelayMs({ ...message.retry, maxDelayMs: Math.min(message.retry.maxDelayMs, 5_000) }, message.attempts + 1, this.random));
      await release(this.rt.sql, message.id, token, retryAt).catch((releaseError: unknown) => this.options.onError?.(releaseError));
      this.options.onError?.(error);
      this.wakeAt(retryAt);
      return;
    }
    const attempts = message.attempts + 1;
    const park = isPermanent(error) || attempts >= message.retry.maxAttempts;
    const retryAt = park ? now : new Date(now.getTime() + retryDelayMs(message.retry, attempts, this.random));
    const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    try {
      if (!(await recordFailure(this.rt.sql, message.id, token, { attempts, error: text, park, retryAt, now }))) return;
    } catch (recordError) {
      // The lease runs out and the message is claimed again; nothing is lost.
      this.options.onError?.(recordError);
      return;
    }
    const ref = messageRef(message);
    if (park) {
      this.stats.parked += 1;
      emitInspection({ kind: "message.parked", at: now.toISOString(), attempts, error: text, ...ref });
    } else {
      this.stats.failed += 1;
      emitInspection({ kind: "message.failed", at: now.toISOString(), attempt: attempts, error: text, retryAt: retryAt.toISOString(), ...ref });
      this.wakeAt(retryAt);
    }
  }

  private async openListener(): Promise<void> {
    const pool = (this.rt.sql as { pool?: pg.Pool }).pool;
    if (!pool || this.stopping) return;
    const client = new pg.Client(pool.options as pg.ClientConfig);
    client.on("notification", () => this.wake());
    client.on("error", () => {
      if (this.listener === client) this.listener = undefined;
      client.end().catch(() => {});
      this.retryListener();
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${RUNTIME_NOTIFY_CHANNEL}`);
    } catch {
      client.end().catch(() => {});
      this.retryListener();
      return;
    }
    if (this.stopping) {
      await client.end().catch(() => {});
      return;
    }
    this.listener = client;
    this.wake();
  }

  private retryListener(): void {
    if (this.stopping || this.listenerRetry) return;
    this.listenerRetry = setTimeout(() => {
      this.listenerRetry = undefined;
      void this.openListener();
    }, this.pollIntervalMs * 4);
    this.listenerRetry.unref?.();
  }
}
