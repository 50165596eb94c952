/**
 * Counts effects by message: a hook that runs inside each handler's transaction once the message
 * passed deduplication, so a count above one means an effect happened twice. Each first effect
 * also records its order, its stream and the worker that did it.
 */
import type { SqlQueryable } from "../../db/sql.ts";
import type { RuntimeHooks } from "../context.ts";

export const SINK_TABLE = "runtime_test_effects";

export async function createSink(db: SqlQueryable): Promise<void> {
  await db.query(
    `CREATE TABLE IF NOT EXISTS ${SINK_TABLE} (effect_key TEXT PRIMARY KEY, kind TEXT NOT NULL, type TEXT NOT NULL, count INTEGER NOT NULL,
       seq BIGSERIAL, stream_key TEXT NOT NULL, outbox_id BIGINT NOT NULL, worker TEXT NOT NULL)`,
  );
}

export function sinkHooks(worker = "main"): RuntimeHooks {
  return {
    async onEffect(tx, message) {
      await tx.query(
        `INSERT INTO ${SINK_TABLE} (effect_key, kind, type, count, stream_key, outbox_id, worker) VALUES ($1, $2, $3, 1, $4, $5, $6)
         ON CONFLICT (effect_key) DO UPDATE SET count = ${SINK_TABLE}.count + 1`,
        [`${message.kind}:${message.targetId}:${message.instanceId ?? ""}:${message.messageId}`, message.kind, message.type, message.streamKey, message.id, worker],
      );
    },
  };
}

export async function sinkCounts(db: SqlQueryable): Promise<{ effects: number; duplicated: number; byKind: Record<string, number>; byWorker: Record<string, number> }> {
  const { rows } = await db.query<{ kind: string; effects: number; duplicated: number }>(
    `SELECT kind, count(*)::int AS effects, count(*) FILTER (WHERE count > 1)::int AS duplicated FROM ${SINK_TABLE} GROUP BY kind`,
  );
  const workers = await db.query<{ worker: string; effects: number }>(`SELECT worker, count(*)::int AS effects FROM ${SINK_TABLE} GROUP BY worker`);
  return {
    effects: rows.reduce((sum, row) => sum + row.effects, 0),
    duplicated: rows.reduce((sum, row) => sum + row.duplicated, 0),
    byKind: Object.fromEntries(rows.map((row) => [row.kind, row.effects])),
    byWorker: Object.fromEntries(workers.rows.map((row) => [row.worker, row.effects])),
  };
}

/** Streams where a message was handled before one queued ahead of it. */
export async function outOfOrderStreams(db: SqlQueryable): Promise<string[]> {
  const { rows } = await db.query<{ stream_key: string }>(
    `SELECT DISTINCT stream_key FROM (
       SELECT stream_key, outbox_id, lag(outbox_id) OVER (PARTITION BY stream_key ORDER BY seq) AS previous FROM ${SINK_TABLE}
     ) handled WHERE previous > outbox_id`,
  );
  return rows.map((row) => row.stream_key);
}
