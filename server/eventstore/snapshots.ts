import type { SqlQueryable } from "../db/sql.ts";
import { InvalidArgumentError, NotFoundError } from "./errors.ts";
import { readStream } from "./read.ts";
import type { RecordedEvent } from "./types.ts";

export interface AggregateOptions<State> {
  initialState: () => State;
  evolve: (state: State, event: RecordedEvent) => State;
  /**
   * Store the folded state every this many versions; later loads start from it and read only
   * the events after it. The state must survive JSON (plain objects, arrays, strings, numbers).
   */
  snapshotEvery?: number;
  /** Names the fold. Required with snapshotEvery; change it when evolve changes so old snapshots are ignored. */
  snapshotName?: string;
  /** Throw NotFoundError for a stream with no events instead of returning the initial state. */
  mustExist?: boolean;
}

export interface AggregateResult<State> {
  state: State;
  /** The stream's version the state reflects (0: no events). */
  version: number;
  /** Version of the snapshot the fold started from (0: none). */
  snapshotVersion: number;
  /** Events read and folded after the snapshot. */
  eventsFolded: number;
}

const PAGE = 1000;

/** Folds a stream into a state, starting from its latest snapshot when there is one. */
export async function aggregateStream<State>(
  db: SqlQueryable,
  streamId: string,
  options: AggregateOptions<State>,
): Promise<AggregateResult<State>> {
  const every = options.snapshotEvery;
  if (every !== undefined && (!Number.isSafeInteger(every) || every < 1)) {
    throw new InvalidArgumentError("snapshotEvery", every, "must be a positive integer");
  }
  if (every !== undefined && !options.snapshotName) {
    throw new InvalidArgumentError("snapshotName", options.snapshotName, "is required with snapshotEvery");
  }
  let state = options.initialState();
  let version = 0;
  let snapshotVersion = 0;
  if (every !== undefined) {
    const { rows } = await db.query<{ version: number; state: State }>(
      `SELECT version, state FROM snapshots WHERE stream_id = $1 AND name = $2`,
      [streamId, options.snapshotName],
    );
    if (rows[0]) {
      state = rows[0].state;
      version = snapshotVersion = rows[0].version;
    }
  }
  let eventsFolded = 0;
  for (;;) {
    let slice;
    try {
      slice = await readStream(db, streamId, { fromVersion: version + 1, limit: PAGE });
    } catch (error) {
      if (error instanceof NotFoundError && !options.mustExist) break;
      throw error;
    }
    for (const event of slice.events) {
      state = options.evolve(state, event);
      version = event.streamVersion;
      eventsFolded += 1;
    }
    if (slice.events.length < PAGE) break;
  }
  if (every !== undefined && version - snapshotVersion >= every) {
    await saveSnapshot(db, streamId, options.snapshotName!, version, state);
  }
  return { state, version, snapshotVersion, eventsFolded };
}

/** Keeps only the newest snapshot per stream and fold; an older one never replaces a newer one. */
export async function saveSnapshot(db: SqlQueryable, streamId: string, name: string, version: number, state: unknown): Promise<void> {
  await db.query(
    `INSERT INTO snapshots (stream_id, name, version, state) VALUES ($1, $2, $3, $4::text::jsonb)
     ON CONFLICT (stream_id, name) DO UPDATE SET version = EXCLUDED.version, state = EXCLUDED.state, created_at = now()
     WHERE snapshots.version < EXCLUDED.version`,
    [streamId, name, version, JSON.stringify(state)],
  );
}

/** Snapshots are a cache: dropping them loses nothing, the next load folds from the events. */
export async function dropSnapshots(db: SqlQueryable, filter: { streamId?: string; name?: string } = {}): Promise<number> {
  const { rowCount } = await db.query(
    `DELETE FROM snapshots WHERE ($1::text IS NULL OR stream_id = $1) AND ($2::text IS NULL OR name = $2)`,
    [filter.streamId ?? null, filter.name ?? null],
  );
  return rowCount;
}
