/**
 * Durable timers: a deadline or timer a process instance set is a row with its firing time.
 * Whoever finds it due (any worker, after any restart) marks it fired and writes its delivery to
 * the instance in the same transaction, so it fires once even with competing workers.
 */
import type { SqlQueryable } from "../db/sql.ts";
import { derivedId } from "./core/ids.ts";
import { DEFAULT_RETRY_POLICY } from "./core/types.ts";
import { notifyWorkers, type RuntimeContext } from "./context.ts";
import type { NewOutboxMessage } from "./outbox.ts";
import { CommitLog, enqueueLogged } from "./recording.ts";

interface TimerRow {
  id: string;
  board_id: string;
  version_id: string;
  process_id: string;
  instance_id: string;
  context_id: string | null;
  kind: "deadline" | "timer";
  step_id: string | null;
  fire_at: Date;
  metadata: { correlationKey: string; correlationId: string };
}

/** Fires up to `limit` due timers; returns how many fired. */
export async function fireDueTimers(rt: RuntimeContext, limit = 100): Promise<number> {
  const now = rt.clock.now();
  const log = new CommitLog(now);
  const fired = await rt.sql.transaction(async (tx) => {
    const { rows } = await tx.query<TimerRow>(
      `WITH due AS (
         SELECT id FROM runtime_timers WHERE status = 'scheduled' AND fire_at <= $1 ORDER BY fire_at, id LIMIT $2 FOR UPDATE SKIP LOCKED
       )
       UPDATE runtime_timers t SET status = 'fired', settled_at = $1 FROM due WHERE t.id = due.id
       RETURNING t.id, t.board_id, t.version_id, t.process_id, t.instance_id, t.context_id, t.kind, t.step_id, t.fire_at, t.metadata`,
      [now, limit],
    );
    if (rows.length === 0) return 0;
    const deliveries: NewOutboxMessage[] = rows.map((timer) => ({
      messageId: derivedId("timer", timer.id),
      streamKey: timer.instance_id,
      kind: "event",
      boardId: timer.board_id,
      versionId: timer.version_id,
      targetId: timer.process_id,
      contextId: timer.context_id,
      instanceId: timer.instance_id,
      type: timer.kind === "deadline" ? "$DeadlinePassed" : "$TimerFired",
      payload: { timerId: timer.id, kind: timer.kind, stepId: timer.step_id, fireAt: new Date(timer.fire_at).toISOString() },
      metadata: {
        correlationId: timer.metadata.correlationId,
        causationId: timer.id,
        occurredAt: now.toISOString(),
        elementId: timer.process_id,
        correlationKey: timer.metadata.correlationKey,
        delivery: { input: "timer-fired", timerId: timer.id },
      },
      retry: DEFAULT_RETRY_POLICY,
    }));
    await enqueueLogged(tx, log, deliveries, now);
    notifyWorkers(tx, rt.sql);
    for (const timer of rows) log.inspection.push({ kind: "timer.fired", at: log.at, boardId: timer.board_id, instanceId: timer.instance_id, timerId: timer.id });
    return rows.length;
  });
  if (fired > 0) rt.afterCommit(log);
  return fired;
}

export async function nextTimerAt(db: SqlQueryable): Promise<Date | null> {
  const { rows } = await db.query<{ at: Date | null }>(`SELECT min(fire_at) AS at FROM runtime_timers WHERE status = 'scheduled'`);
  return rows[0]?.at ? new Date(rows[0].at) : null;
}

export interface TimerView {
  id: string;
  kind: "deadline" | "timer";
  stepId: string | null;
  fireAt: Date;
  status: "scheduled" | "fired" | "cancelled";
  settledAt: Date | null;
}

export async function timersOfInstance(db: SqlQueryable, instanceId: string): Promise<TimerView[]> {
  const { rows } = await db.query<{ id: string; kind: "deadline" | "timer"; step_id: string | null; fire_at: Date; status: TimerView["status"]; settled_at: Date | null }>(
    `SELECT id, kind, step_id, fire_at, status, settled_at FROM runtime_timers WHERE instance_id = $1 ORDER BY fire_at, id`,
    [instanceId],
  );
  return rows.map((row) => ({ id: row.id, kind: row.kind, stepId: row.step_id, fireAt: new Date(row.fire_at), status: row.status, settledAt: row.settled_at ? new Date(row.settled_at) : null }));
}
