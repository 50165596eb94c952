/**
 * Published process versions: immutable, numbered per board, each a definition the compiler
 * accepted. One version per board is deployed; new instances start on it, running instances keep
 * the version they started on.
 */
import { createHash } from "node:crypto";
import { migrateBoardDocument } from "../board/migrations.ts";
import { compileBoard } from "../compiler/compile.ts";
import { formatDiagnostic } from "../compiler/diagnostics.ts";
import { coalesce } from "../db/shared-transactions.ts";
import type { Sql, SqlQueryable } from "../db/sql.ts";
import type { Storage } from "../db/storage.ts";
import { parseExpression } from "../definition/expressions.ts";
import { DefinitionFormatError, parseDefinition, serializeDefinition, type ProcessDefinitionV1 } from "../definition/v1.ts";
import { indexDefinition, type DefinitionIndex } from "./core/definition-index.ts";
import { PublishRefusedError, RuntimeNotFoundError } from "./errors.ts";

export interface PublishedVersion {
  id: string;
  boardId: string;
  version: number;
  hash: string;
  publishedAt: Date;
  deployed: boolean;
  deployedAt: Date | null;
  name: string;
  processes: { id: string; name: string }[];
}

export interface LoadedVersion {
  id: string;
  boardId: string;
  version: number;
  hash: string;
  definition: ProcessDefinitionV1;
  index: DefinitionIndex;
}

interface VersionRow {
  id: string;
  board_id: string;
  version: number;
  hash: string;
  published_at: Date;
  deployed: boolean;
  deployed_at: Date | null;
  definition?: ProcessDefinitionV1;
  name: string;
  processes: { id: string; name: string }[] | null;
}

export const versionId = (boardId: string, version: number) => `${boardId}@${version}`;

const SUMMARY_COLUMNS = `id, board_id, version, hash, published_at, deployed, deployed_at, definition->>'name' AS name,
  (SELECT jsonb_agg(jsonb_build_object('id', p->>'id', 'name', p->>'name')) FROM jsonb_array_elements(definition->'processManagers') p) AS processes`;

function toPublished(row: VersionRow): PublishedVersion {
  return {
    id: row.id,
    boardId: row.board_id,
    version: row.version,
    hash: row.hash,
    publishedAt: new Date(row.published_at),
    deployed: row.deployed,
    deployedAt: row.deployed_at ? new Date(row.deployed_at) : null,
    name: row.name,
    processes: row.processes ?? [],
  };
}

/** Problems a definition from outside the compiler may still have: expressions that do not parse. */
function expressionProblems(definition: ProcessDefinitionV1): string[] {
  const problems: string[] = [];
  const check = (where: string, source: string) => {
    const parsed = parseExpression(source);
    if (!parsed.ok) problems.push(`${where}: ${parsed.error} at ${parsed.position}`);
  };
  const checkMapping = (where: string, fields: Record<string, string>) => {
    for (const [field, source] of Object.entries(fields)) check(`${where}.${field}`, source);
  };
  for (const aggregate of definition.aggregates) {
    check(`${aggregate.name}.idExpression`, aggregate.idExpression.source);
    for (const decision of aggregate.decisions) {
      for (const rule of decision.rules) {
        if (rule.condition) check(`${aggregate.name} rule ${rule.id}`, rule.condition.source);
        if (rule.outcome.kind === "emit") for (const emitted of rule.outcome.events) checkMapping(`${aggregate.name} rule ${rule.id} ${emitted.event.name}`, emitted.mapping.fields);
      }
    }
    for (const evolution of aggregate.evolutions) checkMapping(`${aggregate.name} evolution ${evolution.event.name}`, evolution.set.fields);
  }
  for (const process of definition.processManagers) {
    for (const entry of [...process.start, ...process.completion, ...process.failure]) check(`${process.name} ${entry.event.name} key`, entry.correlationKey.source);
    for (const step of process.steps) {
      if (step.condition) check(`${step.name} condition`, step.condition.source);
      for (const trigger of step.triggers) check(`${step.name} key`, trigger.correlationKey.source);
      for (const dispatch of [step.send, step.compensation, step.deadline?.onTimeout ?? null]) if (dispatch) checkMapping(`${step.name} ${dispatch.command.name}`, dispatch.mapping.fields);
    }
  }
  for (const system of definition.externalSystems) {
    for (const entry of system.inbound) checkMapping(`${system.name} inbound ${entry.message}`, entry.mapping.fields);
    for (const entry of system.outbound) checkMapping(`${system.name} outbound ${entry.message}`, entry.mapping.fields);
  }
  return problems;
}

/**
 * Stores `definition` as the board's next version, or returns the newest version when it holds
 * the same definition already. Refuses a definition that is not valid v1.
 */
export async function publishDefinition(sql: Sql, boardId: string, input: unknown): Promise<{ version: PublishedVersion; created: boolean }> {
  let definition: ProcessDefinitionV1;
  try {
    definition = parseDefinition(input);
  } catch (error) {
    if (error instanceof DefinitionFormatError) throw new PublishRefusedError(boardId, error.problems);
    throw error;
  }
  const problems = expressionProblems(definition);
  if (problems.length > 0) throw new PublishRefusedError(boardId, problems);
  const text = serializeDefinition(definition);
  const hash = createHash("sha256").update(text).digest("hex");
  return sql.transaction(async (tx) => {
    // Publishers of one board queue here, so version numbers have no gaps or duplicates.
    await tx.query(`SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, [`process_versions:${boardId}`]);
    const latest = await tx.query<VersionRow>(`SELECT ${SUMMARY_COLUMNS} FROM process_versions WHERE board_id = $1 ORDER BY version DESC LIMIT 1`, [boardId]);
    if (latest.rows[0]?.hash === hash) return { version: toPublished(latest.rows[0]), created: false };
    const next = (latest.rows[0]?.version ?? 0) + 1;
    const inserted = await tx.query<VersionRow>(
      `INSERT INTO process_versions (id, board_id, version, definition, hash) VALUES ($1, $2, $3, $4::text::jsonb, $5) RETURNING ${SUMMARY_COLUMNS}`,
      [versionId(boardId, next), boardId, next, text, hash],
    );
    return { version: toPublished(inserted.rows[0]!), created: true };
  });
}

/** Compiles the stored board and publishes the result; compile errors refuse the publication. */
export async function publishBoard(storage: Pick<Storage, "sql" | "prisma">, boardId: string): Promise<{ version: PublishedVersion; created: boolean }> {
  const board = await storage.prisma.board.findFirst({ where: { id: boardId, deletedAt: null } });
  if (!board) throw new RuntimeNotFoundError("Board", boardId);
  const document = migrateBoardDocument(board.document);
  const compiled = compileBoard(document, { id: board.id, name: board.name, description: board.description });
  if (!compiled.definition) {
    throw new PublishRefusedError(
      boardId,
      compiled.diagnostics.filter((item) => item.severity === "error").map(formatDiagnostic),
    );
  }
  return publishDefinition(storage.sql, boardId, compiled.definition);
}

export async function listVersions(sql: SqlQueryable, boardId: string): Promise<PublishedVersion[]> {
  const { rows } = await sql.query<VersionRow>(`SELECT ${SUMMARY_COLUMNS} FROM process_versions WHERE board_id = $1 ORDER BY version DESC`, [boardId]);
  return rows.map(toPublished);
}

export async function getPublishedVersion(sql: SqlQueryable, boardId: string, version: number): Promise<PublishedVersion> {
  const { rows } = await sql.query<VersionRow>(`SELECT ${SUMMARY_COLUMNS} FROM process_versions WHERE board_id = $1 AND version = $2`, [boardId, version]);
  if (!rows[0]) throw new RuntimeNotFoundError("Version", versionId(boardId, version));
  return toPublished(rows[0]);
}

/** Makes `version` the board's deployed version (the one deployed before is undeployed). */
export async function deployVersion(sql: Sql, boardId: string, version: number, now: Date): Promise<PublishedVersion> {
  return sql.transaction(async (tx) => {
    await tx.query(`SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, [`process_versions:${boardId}`]);
    const target = await tx.query<{ id: string }>(`SELECT id FROM process_versions WHERE board_id = $1 AND version = $2`, [boardId, version]);
    if (!target.rows[0]) throw new RuntimeNotFoundError("Version", versionId(boardId, version));
    await tx.query(`UPDATE process_versions SET deployed = false WHERE board_id = $1 AND deployed AND version <> $2`, [boardId, version]);
    await tx.query(`UPDATE process_versions SET deployed = true, deployed_at = $3 WHERE board_id = $1 AND version = $2 AND NOT deployed`, [boardId, version, now]);
    return getPublishedVersion(tx, boardId, version);
  });
}

export async function undeployVersion(sql: Sql, boardId: string, version: number): Promise<PublishedVersion> {
  const { rowCount } = await sql.query(`UPDATE process_versions SET deployed = false WHERE board_id = $1 AND version = $2`, [boardId, version]);
  if (rowCount === 0) throw new RuntimeNotFoundError("Version", versionId(boardId, version));
  return getPublishedVersion(sql, boardId, version);
}

/** Versions are immutable, so a loaded one is kept for the life of the runtime. */
export class VersionCache {
  private readonly loaded = new Map<string, Promise<LoadedVersion>>();

  constructor(private readonly sql: SqlQueryable) {}

  /** Inside a transaction, pass it: on PGlite a read outside it would wait for it to end. */
  get(id: string, db: SqlQueryable = this.sql): Promise<LoadedVersion> {
    let pending = this.loaded.get(id);
    if (!pending) {
      pending = this.load(id, db);
      this.loaded.set(id, pending);
      pending.catch(() => this.loaded.delete(id));
    }
    return pending;
  }

  private async load(id: string, db: SqlQueryable): Promise<LoadedVersion> {
    const { rows } = await db.query<{ id: string; board_id: string; version: number; hash: string; definition: ProcessDefinitionV1 }>(
      `SELECT id, board_id, version, hash, definition FROM process_versions WHERE id = $1`,
      [id],
    );
    const row = rows[0];
    if (!row) throw new RuntimeNotFoundError("Version", id);
    return { id: row.id, boardId: row.board_id, version: row.version, hash: row.hash, definition: row.definition, index: indexDefinition(row.definition) };
  }

  /** The board's deployed version, read fresh (deployment changes); in a shared transaction, one statement for the group. */
  async deployed(sql: SqlQueryable, boardId: string): Promise<LoadedVersion | null> {
    const id = await coalesce(sql, "process_versions.deployed", boardId, async (boardIds: string[]) => {
      const { rows } = await sql.query<{ board_id: string; id: string }>(`SELECT board_id, id FROM process_versions WHERE board_id = ANY($1::text[]) AND deployed`, [boardIds]);
      const deployed = new Map(rows.map((row) => [row.board_id, row.id]));
      return boardIds.map((board) => deployed.get(board) ?? null);
    });
    return id ? this.get(id, sql) : null;
  }
}
