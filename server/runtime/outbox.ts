/**
 * The outbox: every message the runtime must deliver (commands, event deliveries to process
 * instances, messages for external systems) is a row written in the transaction that caused it.
 *
 * Claiming: a worker leases the oldest rows that are the head of their stream_key, that nothing
 * else of that stream holds, and that are due (`FOR UPDATE SKIP LOCKED`, so competing workers on
 * PostgreSQL pass over each other's rows instead of waiting). A row leaves the outbox in the
 * transaction that handled it, and only if the worker still holds its claim token, so an effect
 * commits once even when a lease expired and another worker took the row over. A parked row
 * (dead letter) stays the head of its stream and so holds back everything after it.
 */
import { randomUUID } from "node:crypto";
import { coalesce } from "../db/shared-transactions.ts";
import type { SqlQueryable } from "../db/sql.ts";
import type { ElementRef } from "../definition/v1.ts";
import type { CommandOutcomeKind, CommandPurpose } from "./core/process.ts";
import type { MessageMeta, Payload, RetryPolicy } from "./core/types.ts";
import type { MessageRef, OutboxKind } from "./inspection.ts";

export type ProcessDeliveryInput =
  | { input: "event"; event: ElementRef; meta: MessageMeta }
  | { input: "timer-fired"; timerId: string }
  | { input: "command-outcome"; commandMessageId: string; outcome: CommandOutcomeKind; reason: string | null };

/** Where the outcome of a command a process instance sent goes back to. */
export interface ReplyTo {
  instanceId: string;
  processId: string;
  correlationKey: string;
  /** always: compensations (the instance waits for them); failure: step commands (their events answer them). */
  ack: "always" | "failure";
  purpose: CommandPurpose;
  stepId: string;
}

export interface OutboxMetadata {
  correlationId: string;
  causationId: string;
  occurredAt: string;
  /** The definition element the message is (command or event id). */
  elementId: string;
  /** Commands: who handles it. */
  handler?: { kind: "aggregate" | "externalSystem"; id: string; name: string };
  replyTo?: ReplyTo;
  /** Deliveries to process instances. */
  delivery?: ProcessDeliveryInput;
  correlationKey?: string;
  /** A delivery whose correlation key could not be computed; handling parks it with this reason. */
  routingError?: string;
  /** External messages: the command or event they were made from. */
  source?: { kind: "command" | "event"; id: string; name: string };
}

export interface NewOutboxMessage {
  messageId: string;
  streamKey: string;
  kind: OutboxKind;
  boardId: string;
  versionId: string;
  targetId: string;
  contextId: string | null;
  instanceId: string | null;
  type: string;
  payload: Payload;
  metadata: OutboxMetadata;
  retry: RetryPolicy;
}

export type OutboxStatus = "pending" | "parked";

export interface OutboxMessage extends NewOutboxMessage {
  id: number;
  status: OutboxStatus;
  attempts: number;
  availableAt: Date;
  claimToken: string | null;
  lastError: string | null;
  createdAt: Date;
  parkedAt: Date | null;
}

interface OutboxRow {
  id: number;
  message_id: string;
  stream_key: string;
  kind: OutboxKind;
  board_id: string;
  version_id: string;
  target_id: string;
  context_id: string | null;
  instance_id: string | null;
  type: string;
  payload: Payload;
  metadata: OutboxMetadata;
  retry: RetryPolicy;
  status: OutboxStatus;
  attempts: number;
  available_at: Date;
  claim_token: string | null;
  last_error: string | null;
  created_at: Date;
  parked_at: Date | null;
}

const COLUMNS = `id, message_id, stream_key, kind, board_id, version_id, target_id, context_id, instance_id, type, payload, metadata, retry,
  status, attempts, available_at, claim_token, last_error, created_at, parked_at`;

function toMessage(row: OutboxRow): OutboxMessage {
  return {
    id: row.id,
    messageId: row.message_id,
    streamKey: row.stream_key,
    kind: row.kind,
    boardId: row.board_id,
    versionId: row.version_id,
    targetId: row.target_id,
    contextId: row.context_id,
    instanceId: row.instance_id,
    type: row.type,
    payload: row.payload,
    metadata: row.metadata,
    retry: row.retry,
    status: row.status,
    attempts: row.attempts,
    availableAt: new Date(row.available_at),
    claimToken: row.claim_token,
    lastError: row.last_error,
    createdAt: new Date(row.created_at),
    parkedAt: row.parked_at ? new Date(row.parked_at) : null,
  };
}

export function messageRef(message: NewOutboxMessage & { id: number }): MessageRef {
  return {
    boardId: message.boardId,
    versionId: message.versionId,
    outboxId: message.id,
    messageId: message.messageId,
    messageKind: message.kind,
    type: message.type,
    targetId: message.targetId,
    contextId: message.contextId,
    instanceId: message.instanceId,
    correlationId: message.metadata.correlationId,
  };
}

/** A worker's claim on the first message a handler queues, so it can handle it next without a claim query. */
export interface Handoff {
  token: string;
  leaseUntil: Date;
}

/**
 * Writes messages in the caller's transaction, in order (ids grow in that order); returns their
 * ids. With `handoff`, the first message is written already claimed when it is the head of its
 * stream (nothing else of that stream waits), and comes back as `handedOff`. Inside a shared
 * transaction, the enqueues of one tick become one statement.
 */
export interface Enqueued {
  ids: number[];
  handedOff: OutboxMessage | null;
}

export async function enqueue(tx: SqlQueryable, messages: readonly NewOutboxMessage[], now: Date, handoff?: Handoff): Promise<Enqueued> {
  if (messages.length === 0) return { ids: [], handedOff: null };
  return coalesce(tx, "outbox.enqueue", { messages, now, handoff }, (enqueues: Enqueue[]) => insertEnqueues(tx, enqueues));
}

interface Enqueue {
  messages: readonly NewOutboxMessage[];
  now: Date;
  handoff: Handoff | undefined;
}

async function insertEnqueues(tx: SqlQueryable, enqueues: readonly Enqueue[]): Promise<Enqueued[]> {
  const records: Record<string, unknown>[] = [];
  // A message behind another of its stream in this same statement is not that stream's head.
  const streamsAhead = new Set<string>();
  for (const { messages, now, handoff } of enqueues) {
    messages.forEach((message, index) => {
      const claim = index === 0 && handoff && !streamsAhead.has(message.streamKey) ? handoff : null;
      streamsAhead.add(message.streamKey);
      records.push({
        message_id: message.messageId,
        stream_key: message.streamKey,
        kind: message.kind,
        board_id: message.boardId,
        version_id: message.versionId,
        target_id: message.targetId,
        context_id: message.contextId,
        instance_id: message.instanceId,
        type: message.type,
        payload: message.payload,
        metadata: message.metadata,
        retry: message.retry,
        now,
        claim_token: claim?.token ?? null,
        claimed_until: claim?.leaseUntil ?? null,
      });
    });
  }
  // The head check is a scalar subquery, evaluated once per row (OFFSET 0): as NOT EXISTS, the
  // planner may hash the whole outbox instead of probing its index.
  const { rows } = await tx.query<{ id: number; claim_token: string | null }>(
    `INSERT INTO runtime_outbox (message_id, stream_key, kind, board_id, version_id, target_id, context_id, instance_id, type, payload, metadata, retry, available_at, created_at,
       claimed_until, claim_token)
     SELECT r.message_id, r.stream_key, r.kind, r.board_id, r.version_id, r.target_id, r.context_id, r.instance_id, r.type, r.payload, r.metadata, r.retry, r.now, r.now,
       CASE WHEN h.head THEN r.claimed_until END, CASE WHEN h.head THEN r.claim_token END
     FROM ROWS FROM (jsonb_to_recordset($1::text::jsonb) AS (message_id text, stream_key text, kind text, board_id text, version_id text, target_id text, context_id text,
         instance_id text, type text, payload jsonb, metadata jsonb, retry jsonb, now timestamptz, claim_token text, claimed_until timestamptz)) WITH ORDINALITY
       AS r(message_id, stream_key, kind, board_id, version_id, target_id, context_id, instance_id, type, payload, metadata, retry, now, claim_token, claimed_until, ord)
     CROSS JOIN LATERAL (
       SELECT r.claim_token IS NOT NULL AND (SELECT 1 FROM runtime_outbox p WHERE p.stream_key = r.stream_key LIMIT 1) IS NULL AS head OFFSET 0
     ) h
     ORDER BY r.ord
     RETURNING id, claim_token`,
    [JSON.stringify(records)],
  );
  const ids = rows.map((row) => row.id).sort((a, b) => a - b);
  const tokens = new Map(rows.map((row) => [row.id, row.claim_token]));
  let offset = 0;
  return enqueues.map(({ messages, now, handoff }) => {
    const own = ids.slice(offset, offset + messages.length);
    offset += messages.length;
    const first = own[0]!;
    const handedOff: OutboxMessage | null =
      handoff && tokens.get(first) === handoff.token
        ? { ...messages[0]!, id: first, status: "pending", attempts: 0, availableAt: now, claimToken: handoff.token, lastError: null, createdAt: now, parkedAt: null }
        : null;
    return { ids: own, handedOff };
  });
}

/** Takes back messages enqueued earlier in the same transaction. */
export async function unqueue(tx: SqlQueryable, ids: readonly number[]): Promise<void> {
  await tx.query(`DELETE FROM runtime_outbox WHERE id = ANY($1::bigint[])`, [ids]);
}

export interface ClaimOptions {
  limit: number;
  leaseMs: number;
  now: Date;
  token: string;
}

/** Leases up to `limit` due stream heads; at most one row per stream is ever claimed. */
export async function claim(db: SqlQueryable, options: ClaimOptions): Promise<OutboxMessage[]> {
  const { rows } = await db.query<OutboxRow>(
    `WITH ready AS (
       SELECT o.id FROM runtime_outbox o
       WHERE o.status = 'pending' AND o.available_at <= $1 AND (o.claimed_until IS NULL OR o.claimed_until <= $1)
         AND NOT EXISTS (
           SELECT 1 FROM runtime_outbox p
           WHERE p.stream_key = o.stream_key AND p.id <> o.id AND (p.id < o.id OR p.claimed_until > $1)
         )
       ORDER BY o.id
       LIMIT $2
       FOR UPDATE OF o SKIP LOCKED
     )
     UPDATE runtime_outbox o SET claimed_until = $3, claim_token = $4
     FROM ready WHERE o.id = ready.id AND (o.claimed_until IS NULL OR o.claimed_until <= $1)
     RETURNING ${COLUMNS.split(",").map((column) => `o.${column.trim()}`).join(", ")}`,
    [options.now, options.limit, new Date(options.now.getTime() + options.leaseMs), options.token],
  );
  return rows.map(toMessage).sort((a, b) => a.id - b.id);
}

/** A failed attempt: back to pending with its next due time, or parked. */
export async function recordFailure(
  db: SqlQueryable,
  id: number,
  token: string,
  failure: { attempts: number; error: string; park: boolean; retryAt: Date; now: Date },
): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE runtime_outbox SET attempts = $3, last_error = $4, status = CASE WHEN $5::boolean THEN 'parked' ELSE 'pending' END,
       available_at = $6, parked_at = CASE WHEN $5::boolean THEN $7::timestamptz ELSE NULL END, claimed_until = NULL, claim_token = NULL
     WHERE id = $1 AND claim_token = $2`,
    [id, token, failure.attempts, failure.error.slice(0, 4000), failure.park, failure.retryAt, failure.now],
  );
  return rowCount === 1;
}

/** Gives a claimed row back without counting an attempt (its context is down). */
export async function release(db: SqlQueryable, id: number, token: string, availableAt: Date): Promise<void> {
  await db.query(`UPDATE runtime_outbox SET available_at = $3, claimed_until = NULL, claim_token = NULL WHERE id = $1 AND claim_token = $2`, [id, token, availableAt]);
}

/** Full jitter on half the delay: between half and all of the exponential delay for this attempt. */
export function retryDelayMs(policy: RetryPolicy, attempt: number, random: () => number = Math.random): number {
  const exponential = Math.min(policy.maxDelayMs, policy.initialDelayMs * policy.multiplier ** Math.max(0, attempt - 1));
  return Math.round(exponential / 2 + (random() * exponential) / 2);
}

export function newClaimToken(): string {
  return randomUUID();
}

export async function getOutboxMessage(db: SqlQueryable, id: number): Promise<OutboxMessage | null> {
  const { rows } = await db.query<OutboxRow>(`SELECT ${COLUMNS} FROM runtime_outbox WHERE id = $1`, [id]);
  return rows[0] ? toMessage(rows[0]) : null;
}

export interface OutboxPage {
  messages: OutboxMessage[];
  /** Pass as `after` for the next page; null on the last page. */
  nextAfter: number | null;
}

export async function listOutbox(
  db: SqlQueryable,
  filter: { status?: OutboxStatus; boardId?: string; instanceId?: string; after?: number; limit: number },
): Promise<OutboxPage> {
  const { rows } = await db.query<OutboxRow>(
    `SELECT ${COLUMNS} FROM runtime_outbox
     WHERE ($1::text IS NULL OR status = $1) AND ($2::text IS NULL OR board_id = $2) AND ($3::text IS NULL OR instance_id = $3) AND id > $4
     ORDER BY id LIMIT $5`,
    [filter.status ?? null, filter.boardId ?? null, filter.instanceId ?? null, filter.after ?? 0, filter.limit + 1],
  );
  const messages = rows.slice(0, filter.limit).map(toMessage);
  return { messages, nextAfter: rows.length > filter.limit ? messages[messages.length - 1]!.id : null };
}

/** When the next pending row is due (for the dispatcher's sleep); null when none waits. */
export async function nextDueAt(db: SqlQueryable): Promise<Date | null> {
  const { rows } = await db.query<{ at: Date | null }>(`SELECT min(available_at) AS at FROM runtime_outbox WHERE status = 'pending'`);
  return rows[0]?.at ? new Date(rows[0].at) : null;
}
