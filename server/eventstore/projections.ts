import type { Sql, SqlQueryable } from "../db/sql.ts";
import { EventStoreError, InvalidArgumentError, NotFoundError, ProjectionHandlerError } from "./errors.ts";
import { countAfter, headPosition, MAX_READ_LIMIT, readLog, validateLimit } from "./read.ts";
import type { EventStore } from "./store.ts";
import type { RecordedEvent } from "./types.ts";

/** Returned by a handler to remove the row. */
export const DELETE_ROW: unique symbol = Symbol.for("sagaboard.eventstore.deleteRow");
export type ProjectionUpdate<State> = State | typeof DELETE_ROW;

/** Either function may return a promise (read models of a definition evaluate JSONata, which is async). */
export interface ProjectionHandler<State> {
  /** The read-model row the event updates; null leaves the view alone. */
  key(event: RecordedEvent): string | null | Promise<string | null>;
  /** The row's new state (JSON-serializable), or DELETE_ROW. */
  apply(state: State | undefined, event: RecordedEvent): ProjectionUpdate<State> | Promise<ProjectionUpdate<State>>;
}

export interface ProjectionDefinition<State> {
  name: string;
  /** Keyed by event type; events of other types are not read. */
  handlers: Readonly<Record<string, ProjectionHandler<State>>>;
}

const NAME_PATTERN = /^[A-Za-z0-9_.:-]{1,200}$/;

export function defineProjection<State>(definition: ProjectionDefinition<State>): ProjectionDefinition<State> {
  validateProjectionName(definition.name);
  if (Object.keys(definition.handlers).length === 0) {
    throw new InvalidArgumentError("projection handlers", definition.name, "a projection needs at least one event type");
  }
  return definition;
}

export function validateProjectionName(name: unknown): asserts name is string {
  if (typeof name !== "string" || !NAME_PATTERN.test(name)) {
    throw new InvalidArgumentError("projection name", name, "must be 1-200 letters, digits, '_', '.', ':' or '-'");
  }
}

interface ProjectionRow {
  name: string;
  view: string;
  generation: number;
  event_types: string[];
  checkpoint: number;
  processed: number;
  rebuild_status: "running" | "done" | "failed" | null;
  rebuild_view: string | null;
  rebuild_checkpoint: number | null;
  rebuild_processed: number | null;
  rebuild_total: number | null;
  rebuild_error: string | null;
  rebuild_started_at: Date | null;
  rebuild_finished_at: Date | null;
}

/** Which copy of the view a batch is applied to. */
type Target = "live" | "rebuild";

/** Where a runner believes its target stands; a batch applies only if the database agrees. */
interface Cursor {
  view: string;
  checkpoint: number;
}

/** Another runner (or a rebuild swap) moved the checkpoint; reload and continue from there. */
class CheckpointMoved extends Error {}

async function loadProjection(db: SqlQueryable, name: string, lock = false): Promise<ProjectionRow> {
  const { rows } = await db.query<ProjectionRow>(`SELECT * FROM projections WHERE name = $1${lock ? " FOR UPDATE" : ""}`, [name]);
  if (!rows[0]) throw new NotFoundError("projection", name);
  return rows[0];
}

function cursorOf(row: ProjectionRow, target: Target): Cursor | undefined {
  switch (target) {
    case "live":
      return { view: row.view, checkpoint: row.checkpoint };
    case "rebuild":
      return row.rebuild_status === "running" && row.rebuild_view !== null
        ? { view: row.rebuild_view, checkpoint: row.rebuild_checkpoint ?? 0 }
        : undefined;
    default: {
      const unexpected: never = target;
      throw new Error(`unknown target ${String(unexpected)}`);
    }
  }
}

interface RowState<State> {
  state: State | undefined;
  version: number;
  position: number;
  touched: boolean;
}

/**
 * Applies events to one copy of a view and moves that copy's checkpoint in the same
 * transaction: a crash leaves either both or neither, so each event counts exactly once.
 */
async function applyBatch<State>(
  sql: Sql,
  definition: ProjectionDefinition<State>,
  target: Target,
  expected: Cursor,
  events: readonly RecordedEvent[],
): Promise<Cursor> {
  const last = events[events.length - 1]!.position;
  const keys: (string | null)[] = [];
  for (const event of events) {
    const handler = definition.handlers[event.type];
    if (!handler) {
      keys.push(null);
      continue;
    }
    let key: unknown;
    try {
      key = await handler.key(event);
    } catch (error) {
      throw new ProjectionHandlerError(definition.name, event.type, event.position, `key threw: ${(error as Error).message}`, { cause: error });
    }
    if (key !== null && (typeof key !== "string" || key.length === 0)) {
      throw new ProjectionHandlerError(definition.name, event.type, event.position, `key is ${JSON.stringify(key)}, not a non-empty string`);
    }
    keys.push(key);
  }
  const uniqueKeys = [...new Set(keys.filter((key): key is string => key !== null))];

  await sql.transaction(async (tx) => {
    const row = await loadProjection(tx, definition.name, true);
    const current = cursorOf(row, target);
    if (!current || current.view !== expected.view || current.checkpoint !== expected.checkpoint) throw new CheckpointMoved();

    const rows = new Map<string, RowState<State>>();
    if (uniqueKeys.length > 0) {
      const existing = await tx.query<{ key: string; data: State; version: number; updated_position: number }>(
        `SELECT key, data, version, updated_position FROM read_model_rows WHERE view = $1 AND key = ANY($2::text[])`,
        [expected.view, uniqueKeys],
      );
      for (const found of existing.rows) {
        rows.set(found.key, { state: found.data, version: found.version, position: found.updated_position, touched: false });
      }
    }
    const existedBefore = new Set(rows.keys());
    for (const [index, event] of events.entries()) {
      const key = keys[index];
      if (key === null || key === undefined) continue;
      const handler = definition.handlers[event.type]!;
      const entry = rows.get(key) ?? { state: undefined, version: 0, position: 0, touched: false };
      let next: ProjectionUpdate<State>;
      try {
        next = await handler.apply(entry.state, event);
      } catch (error) {
        throw new ProjectionHandlerError(definition.name, event.type, event.position, `apply threw: ${(error as Error).message}`, { cause: error });
      }
      if (next === undefined) {
        throw new ProjectionHandlerError(definition.name, event.type, event.position, "apply returned undefined (return the state, or DELETE_ROW)");
      }
      entry.state = next === DELETE_ROW ? undefined : next;
      entry.version = next === DELETE_ROW ? 0 : entry.version + 1;
      entry.position = event.position;
      entry.touched = true;
      rows.set(key, entry);
    }

    const upsertKeys: string[] = [];
    const upsertData: string[] = [];
    const upsertVersions: number[] = [];
    const upsertPositions: number[] = [];
    const deleteKeys: string[] = [];
    for (const [key, entry] of rows) {
      if (!entry.touched) continue;
      if (entry.state === undefined) {
        if (existedBefore.has(key)) deleteKeys.push(key);
        continue;
      }
      upsertKeys.push(key);
      upsertData.push(JSON.stringify(entry.state));
      upsertVersions.push(entry.version);
      upsertPositions.push(entry.position);
    }
    if (upsertKeys.length > 0) {
      await tx.query(
        `INSERT INTO read_model_rows (view, key, data, version, updated_position)
         SELECT $1, r.key, r.data, r.version, r.position
         FROM unnest($2::text[], $3::text[]::jsonb[], $4::int[], $5::bigint[]) AS r(key, data, version, position)
         ON CONFLICT (view, key) DO UPDATE
           SET data = EXCLUDED.data, version = EXCLUDED.version, updated_position = EXCLUDED.updated_position`,
        [expected.view, upsertKeys, upsertData, upsertVersions, upsertPositions],
      );
    }
    if (deleteKeys.length > 0) {
      await tx.query(`DELETE FROM read_model_rows WHERE view = $1 AND key = ANY($2::text[])`, [expected.view, deleteKeys]);
    }
    await tx.query(
      target === "live"
        ? `UPDATE projections SET checkpoint = $2, processed = processed + $3, updated_at = now() WHERE name = $1`
        : `UPDATE projections SET rebuild_checkpoint = $2, rebuild_processed = rebuild_processed + $3,
             rebuild_total = greatest(rebuild_total, rebuild_processed + $3), updated_at = now() WHERE name = $1`,
      [definition.name, last, events.length],
    );
  });
  return { view: expected.view, checkpoint: last };
}

export interface ProjectionLag {
  /** Position of the last event applied (0: none yet). */
  checkpoint: number;
  /** Position of the newest committed event the projection handles (0: none). */
  head: number;
  /** Committed events the projection handles that it has not applied yet. */
  behind: number;
}

export async function projectionLag(db: SqlQueryable, name: string): Promise<ProjectionLag> {
  validateProjectionName(name);
  const row = await loadProjection(db, name);
  const filter = { types: row.event_types };
  const [behind, head] = [await countAfter(db, row.checkpoint, filter), await headPosition(db, filter)];
  return { checkpoint: row.checkpoint, head, behind };
}

export type RebuildStatus = "idle" | "running" | "done" | "failed";

export interface RebuildProgress {
  status: RebuildStatus;
  processed: number;
  /** Events to process; grows while events keep arriving during the rebuild. */
  total: number;
  startedAt: Date | null;
  finishedAt: Date | null;
  error: string | null;
}

function progressOf(row: ProjectionRow): RebuildProgress {
  return {
    status: row.rebuild_status ?? "idle",
    processed: row.rebuild_processed ?? 0,
    total: row.rebuild_total ?? 0,
    startedAt: row.rebuild_started_at,
    finishedAt: row.rebuild_finished_at,
    error: row.rebuild_error,
  };
}

export async function rebuildProgress(db: SqlQueryable, name: string): Promise<RebuildProgress> {
  validateProjectionName(name);
  return progressOf(await loadProjection(db, name));
}

export interface ProjectionInfo {
  name: string;
  view: string;
  generation: number;
  eventTypes: string[];
  checkpoint: number;
  processed: number;
  rebuild: RebuildProgress;
}

export async function listProjections(db: SqlQueryable): Promise<ProjectionInfo[]> {
  const { rows } = await db.query<ProjectionRow>(`SELECT * FROM projections ORDER BY name`);
  return rows.map((row) => ({
    name: row.name,
    view: row.view,
    generation: row.generation,
    eventTypes: row.event_types,
    checkpoint: row.checkpoint,
    processed: row.processed,
    rebuild: progressOf(row),
  }));
}

export interface ProjectorOptions {
  /** Events per transaction while following the log (default 500). */
  batchSize?: number;
  /** Events per transaction during a rebuild (default 10000: a row touched by many events is written once per batch). */
  rebuildBatchSize?: number;
  pollIntervalMs?: number;
  /** A failed read or commit is retried after the poll interval; this hears about it. */
  onRetry?: (error: unknown) => void;
}

export interface RebuildRun {
  /** Progress as last reported by this process. */
  readonly progress: RebuildProgress;
  /** Resolves with the final progress once the rebuilt view has replaced the live one. */
  readonly done: Promise<RebuildProgress>;
}

/**
 * Runs one projection: follows the log into its live view, and rebuilds it from position 0
 * into a shadow view that replaces the live one atomically once it has caught up.
 */
export class Projector<State> {
  readonly name: string;
  private readonly eventTypes: string[];
  private readonly batchSize: number;
  private readonly rebuildBatchSize: number;
  private readonly pollIntervalMs: number;
  private registered: Promise<void> | undefined;
  private abort: AbortController | undefined;
  private running: Promise<void> | undefined;
  private rebuildRun: RebuildRun | undefined;
  private lastError: unknown;

  constructor(
    readonly store: EventStore,
    readonly definition: ProjectionDefinition<State>,
    private readonly options: ProjectorOptions = {},
  ) {
    defineProjection(definition);
    this.name = definition.name;
    this.eventTypes = Object.keys(definition.handlers).sort();
    this.batchSize = options.batchSize ?? 500;
    this.rebuildBatchSize = options.rebuildBatchSize ?? MAX_READ_LIMIT;
    validateLimit(this.batchSize);
    validateLimit(this.rebuildBatchSize);
    this.pollIntervalMs = options.pollIntervalMs ?? store.pollIntervalMs;
    projectorsOf(store.sql).set(this.name, this);
  }

  private get sql(): Sql {
    return this.store.sql;
  }

  /** Creates the projection's row on first use and records which event types it reads. */
  register(): Promise<void> {
    this.registered ??= (async () => {
      await this.sql.query(
        `INSERT INTO projections (name, view, event_types) VALUES ($1, $1 || '@1', $2::text[])
         ON CONFLICT (name) DO UPDATE SET event_types = EXCLUDED.event_types
         WHERE projections.event_types IS DISTINCT FROM EXCLUDED.event_types`,
        [this.name, this.eventTypes],
      );
    })();
    this.registered.catch(() => (this.registered = undefined));
    return this.registered;
  }

  private async liveCursor(): Promise<Cursor> {
    return cursorOf(await loadProjection(this.sql, this.name), "live")!;
  }

  /**
   * Reads one batch after `cursor` and applies it. Returns the new cursor and how many events
   * it applied (0: nothing to do; undefined: the checkpoint had moved and `cursor` is stale).
   */
  private async step(target: Target, cursor: Cursor, limit: number): Promise<{ cursor: Cursor; applied: number | undefined }> {
    const slice = await readLog(this.sql, { after: cursor.checkpoint, limit, filter: { types: this.eventTypes } });
    if (slice.events.length === 0) return { cursor, applied: 0 };
    try {
      return { cursor: await applyBatch(this.sql, this.definition, target, cursor, slice.events), applied: slice.events.length };
    } catch (error) {
      if (error instanceof CheckpointMoved) return { cursor, applied: undefined };
      throw error;
    }
  }

  /** Applies everything committed so far to the live view; returns how many events this call applied. */
  async catchUp(): Promise<number> {
    await this.register();
    let cursor = await this.liveCursor();
    let total = 0;
    for (;;) {
      const { cursor: next, applied } = await this.step("live", cursor, this.batchSize);
      if (applied === undefined) {
        cursor = await this.liveCursor();
        continue;
      }
      if (applied === 0) return total;
      total += applied;
      cursor = next;
    }
  }

  /** Follows the log in the background; resumes a rebuild that a previous process left running. */
  start(): void {
    if (this.running) return;
    const abort = (this.abort = new AbortController());
    this.running = this.follow(abort.signal).catch((error: unknown) => {
      this.lastError = error;
    });
  }

  /** The error that stopped the background runner, if one did. */
  get error(): unknown {
    return this.lastError;
  }

  get isRunning(): boolean {
    return this.running !== undefined && !this.abort?.signal.aborted && this.lastError === undefined;
  }

  private async follow(signal: AbortSignal): Promise<void> {
    await this.retrying(signal, () => this.register());
    const row = await this.retrying(signal, () => loadProjection(this.sql, this.name));
    if (row?.rebuild_status === "running") this.rebuild();
    let cursor = await this.retrying(signal, () => this.liveCursor());
    while (!signal.aborted && !this.store.isClosed && cursor) {
      const generation = this.store.changeGeneration;
      const result = await this.retrying(signal, () => this.step("live", cursor!, this.batchSize));
      if (!result) return;
      if (result.applied === undefined) {
        cursor = await this.retrying(signal, () => this.liveCursor());
      } else if (result.applied === 0) {
        await this.store.waitForChange(generation, this.pollIntervalMs, signal);
      } else {
        cursor = result.cursor;
      }
    }
  }

  /** Runs `work`, retrying errors that are not the event store's own (lost connections and the like). */
  private async retrying<T>(signal: AbortSignal, work: () => Promise<T>): Promise<T | undefined> {
    for (;;) {
      if (signal.aborted) return undefined;
      try {
        return await work();
      } catch (error) {
        if (error instanceof EventStoreError || signal.aborted) throw error;
        this.options.onRetry?.(error);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(done, this.pollIntervalMs);
          function done() {
            clearTimeout(timer);
            signal.removeEventListener("abort", done);
            resolve();
          }
          signal.addEventListener("abort", done, { once: true });
        });
      }
    }
  }

  async stop(): Promise<void> {
    this.abort?.abort();
    await this.running;
    await this.rebuildRun?.done.catch(() => {});
    this.running = undefined;
  }

  async lag(): Promise<ProjectionLag> {
    await this.register();
    return projectionLag(this.sql, this.name);
  }

  async rebuildProgress(): Promise<RebuildProgress> {
    await this.register();
    return rebuildProgress(this.sql, this.name);
  }

  /**
   * Replays the whole log into a fresh copy of the view while the live one keeps serving, then
   * swaps it in. Returns the run already in progress in this process, if there is one.
   */
  rebuild(options: { onProgress?: (progress: RebuildProgress) => void } = {}): RebuildRun {
    if (this.rebuildRun && this.rebuildRun.progress.status === "running") return this.rebuildRun;
    const run = {
      progress: { status: "running", processed: 0, total: 0, startedAt: new Date(), finishedAt: null, error: null } as RebuildProgress,
      done: undefined as unknown as Promise<RebuildProgress>,
    };
    const report = (progress: RebuildProgress) => {
      run.progress = progress;
      options.onProgress?.(progress);
    };
    run.done = this.runRebuild(report).catch(async (error: unknown) => {
      const message = error instanceof Error ? error.message : String(error);
      await this.sql
        .query(
          `UPDATE projections SET rebuild_status = 'failed', rebuild_error = $2, rebuild_finished_at = now()
           WHERE name = $1 AND rebuild_status = 'running'`,
          [this.name, message],
        )
        .catch(() => {});
      report({ ...run.progress, status: "failed", error: message, finishedAt: new Date() });
      throw error;
    });
    run.done.catch(() => {});
    this.rebuildRun = run;
    return run;
  }

  private async runRebuild(report: (progress: RebuildProgress) => void): Promise<RebuildProgress> {
    await this.register();
    let cursor = await this.sql.transaction(async (tx) => {
      const row = await loadProjection(tx, this.name, true);
      const resumed = cursorOf(row, "rebuild");
      if (resumed) return resumed;
      const view = `${this.name}@${row.generation + 1}`;
      // Rows of views that are neither live nor being built: leftovers of a crash after a swap.
      await tx.query(`DELETE FROM read_model_rows WHERE left(view, length($1) + 1) = $1 || '@' AND view <> $2`, [this.name, row.view]);
      const total = await countAfter(tx, 0, { types: this.eventTypes });
      await tx.query(
        `UPDATE projections SET rebuild_status = 'running', rebuild_view = $2, rebuild_checkpoint = 0, rebuild_processed = 0,
           rebuild_total = $3, rebuild_error = NULL, rebuild_started_at = now(), rebuild_finished_at = NULL
         WHERE name = $1`,
        [this.name, view, total],
      );
      return { view, checkpoint: 0 };
    });
    report(progressOf(await loadProjection(this.sql, this.name)));
    for (;;) {
      const { cursor: next, applied } = await this.step("rebuild", cursor, this.rebuildBatchSize);
      if (applied === undefined) throw new Error(`The rebuild of ${this.name} was taken over by another process`);
      cursor = next;
      if (applied > 0) report(progressOf(await loadProjection(this.sql, this.name)));
      if (applied < this.rebuildBatchSize) {
        await this.swap(cursor);
        break;
      }
    }
    const final = progressOf(await loadProjection(this.sql, this.name));
    report(final);
    return final;
  }

  /** Makes the rebuilt view the live one, with its checkpoint, in one transaction. */
  private async swap(cursor: Cursor): Promise<void> {
    const oldView = await this.sql.transaction(async (tx) => {
      const row = await loadProjection(tx, this.name, true);
      const current = cursorOf(row, "rebuild");
      if (!current || current.view !== cursor.view || current.checkpoint !== cursor.checkpoint) {
        throw new Error(`The rebuild of ${this.name} was taken over by another process`);
      }
      // Events that committed since the last read are applied by the live runner from this checkpoint.
      await tx.query(
        `UPDATE projections SET view = rebuild_view, generation = generation + 1, checkpoint = rebuild_checkpoint,
           processed = rebuild_processed, rebuild_status = 'done', rebuild_total = rebuild_processed,
           rebuild_finished_at = now(), updated_at = now()
         WHERE name = $1`,
        [this.name],
      );
      return row.view;
    });
    await this.sql.query(`DELETE FROM read_model_rows WHERE view = $1`, [oldView]);
  }
}

/** What the API needs of a projector, independent of its state type. */
export type RegisteredProjector = Pick<Projector<unknown>, "name" | "rebuild" | "rebuildProgress" | "lag">;

const registries = new WeakMap<Sql, Map<string, RegisteredProjector>>();

/** The projectors created in this process over one database (the API starts rebuilds through it). */
export function projectorsOf(sql: Sql): Map<string, RegisteredProjector> {
  let registry = registries.get(sql);
  if (!registry) registries.set(sql, (registry = new Map()));
  return registry;
}
