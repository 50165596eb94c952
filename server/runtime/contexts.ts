/**
 * Run-time settings per bounded context of a board, stored so that every worker sees them:
 * faults for design-time runs (down, latency, a share of failing commands, duplicate deliveries)
 * and an optional webhook the context's commands are sent to instead of being handled here.
 */
import type { Sql, SqlQueryable } from "../db/sql.ts";

export interface ContextSettings {
  boardId: string;
  contextId: string;
  /** Commands wait (without using up attempts) until the context is back. */
  down: boolean;
  /** Added before each delivery. */
  latencyMs: number;
  /** Share of deliveries that fail with an injected error (0..1). */
  failureRate: number;
  /** Each message is delivered this many extra times; handlers must deduplicate. */
  duplicateDeliveries: number;
  webhookUrl: string | null;
  webhookSecret: string | null;
  updatedAt: Date | null;
}

export type ContextSettingsPatch = Partial<Pick<ContextSettings, "down" | "latencyMs" | "failureRate" | "duplicateDeliveries" | "webhookUrl" | "webhookSecret">>;

interface SettingsRow {
  board_id: string;
  context_id: string;
  down: boolean;
  latency_ms: number;
  failure_rate: number;
  duplicate_deliveries: number;
  webhook_url: string | null;
  webhook_secret: string | null;
  updated_at: Date;
}

export function defaultSettings(boardId: string, contextId: string): ContextSettings {
  return { boardId, contextId, down: false, latencyMs: 0, failureRate: 0, duplicateDeliveries: 0, webhookUrl: null, webhookSecret: null, updatedAt: null };
}

function toSettings(row: SettingsRow): ContextSettings {
  return {
    boardId: row.board_id,
    contextId: row.context_id,
    down: row.down,
    latencyMs: row.latency_ms,
    failureRate: Number(row.failure_rate),
    duplicateDeliveries: row.duplicate_deliveries,
    webhookUrl: row.webhook_url,
    webhookSecret: row.webhook_secret,
    updatedAt: new Date(row.updated_at),
  };
}

export async function readContextSettings(db: SqlQueryable, boardId: string): Promise<ContextSettings[]> {
  const { rows } = await db.query<SettingsRow>(`SELECT * FROM runtime_context_settings WHERE board_id = $1 ORDER BY context_id`, [boardId]);
  return rows.map(toSettings);
}

/** Changes some settings of one context; a context coming back up makes its waiting messages due now. */
export async function writeContextSettings(sql: Sql, boardId: string, contextId: string, patch: ContextSettingsPatch, now: Date): Promise<ContextSettings> {
  return sql.transaction(async (tx) => {
    const current = (await tx.query<SettingsRow>(`SELECT * FROM runtime_context_settings WHERE board_id = $1 AND context_id = $2 FOR UPDATE`, [boardId, contextId])).rows[0];
    const next = { ...(current ? toSettings(current) : defaultSettings(boardId, contextId)), ...patch };
    const { rows } = await tx.query<SettingsRow>(
      `INSERT INTO runtime_context_settings (board_id, context_id, down, latency_ms, failure_rate, duplicate_deliveries, webhook_url, webhook_secret, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
       ON CONFLICT (board_id, context_id) DO UPDATE SET down = EXCLUDED.down, latency_ms = EXCLUDED.latency_ms, failure_rate = EXCLUDED.failure_rate,
         duplicate_deliveries = EXCLUDED.duplicate_deliveries, webhook_url = EXCLUDED.webhook_url, webhook_secret = EXCLUDED.webhook_secret, updated_at = EXCLUDED.updated_at
       RETURNING *`,
      [boardId, contextId, next.down, next.latencyMs, next.failureRate, next.duplicateDeliveries, next.webhookUrl, next.webhookSecret, now],
    );
    if (current?.down && !next.down) {
      await tx.query(
        `UPDATE runtime_outbox SET available_at = $3 WHERE board_id = $1 AND context_id = $2 AND status = 'pending' AND claimed_until IS NULL AND available_at > $3`,
        [boardId, contextId, now],
      );
    }
    return toSettings(rows[0]!);
  });
}

/**
 * Settings as workers read them on every delivery. Cached per board: a change made here is seen
 * at once; one made by another process within about `ttlMs`, because an entry older than that is
 * refreshed in the background while the cached value keeps serving (so no delivery waits on it).
 * On PGlite no other process can change them (one process holds the data directory), so entries
 * are not refreshed by default.
 */
export class ContextSettingsCache {
  private readonly boards = new Map<string, { loadedAt: number; byContext: Map<string, ContextSettings>; refreshing: Promise<void> | null }>();

  constructor(
    private readonly db: Sql,
    private readonly ttlMs = db.kind === "pglite" ? Infinity : 250,
  ) {}

  /** Bumped by invalidate: a load that began before it must not store what it read. */
  private generation = 0;

  private async load(boardId: string): Promise<Map<string, ContextSettings>> {
    const generation = this.generation;
    const settings = await readContextSettings(this.db, boardId);
    const byContext = new Map(settings.map((setting) => [setting.contextId, setting]));
    if (generation !== this.generation) return byContext;
    const entry = this.boards.get(boardId);
    if (entry) {
      entry.byContext = byContext;
      entry.loadedAt = Date.now();
    } else {
      this.boards.set(boardId, { loadedAt: Date.now(), byContext, refreshing: null });
    }
    return byContext;
  }

  async get(boardId: string, contextId: string | null): Promise<ContextSettings> {
    if (contextId === null) return defaultSettings(boardId, "");
    const entry = this.boards.get(boardId);
    let byContext: Map<string, ContextSettings>;
    if (!entry) {
      byContext = await this.load(boardId);
    } else {
      byContext = entry.byContext;
      if (Date.now() - entry.loadedAt > this.ttlMs && !entry.refreshing) {
        entry.refreshing = this.load(boardId)
          .then(() => undefined, () => undefined)
          .finally(() => {
            entry.refreshing = null;
          });
      }
    }
    return byContext.get(contextId) ?? defaultSettings(boardId, contextId);
  }

  invalidate(boardId: string): void {
    this.generation += 1;
    this.boards.delete(boardId);
  }
}
