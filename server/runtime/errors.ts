/** Errors the runtime reports to its callers; the tRPC router maps them to status codes. */

export type RuntimeErrorCode = "invalid_payload" | "not_found" | "not_deployed" | "publish_refused" | "invalid_request" | "conflict";

export abstract class RuntimeError extends Error {
  abstract readonly code: RuntimeErrorCode;
}

/** A payload that does not match its message's schema; every violation is listed, nothing was stored. */
export class PayloadValidationError extends RuntimeError {
  override name = "PayloadValidationError";
  readonly code = "invalid_payload";
  constructor(
    readonly messageName: string,
    readonly violations: string[],
  ) {
    super(`${messageName} is not valid: ${violations.join("; ")}`);
  }
}

export class RuntimeNotFoundError extends RuntimeError {
  override name = "RuntimeNotFoundError";
  readonly code = "not_found";
  constructor(
    readonly subject: string,
    readonly id: string,
  ) {
    super(`${subject} ${JSON.stringify(id)} does not exist`);
  }
}

export class NotDeployedError extends RuntimeError {
  override name = "NotDeployedError";
  readonly code = "not_deployed";
  constructor(readonly boardId: string) {
    super(`Board ${JSON.stringify(boardId)} has no deployed version: publish and deploy one first`);
  }
}

/** Publishing was refused: the board does not compile or the definition is not valid. */
export class PublishRefusedError extends RuntimeError {
  override name = "PublishRefusedError";
  readonly code = "publish_refused";
  constructor(
    readonly boardId: string,
    readonly problems: string[],
  ) {
    super(`Board ${JSON.stringify(boardId)} cannot be published: ${problems.slice(0, 5).join("; ")}${problems.length > 5 ? ` (and ${problems.length - 5} more)` : ""}`);
  }
}

export class InvalidRequestError extends RuntimeError {
  override name = "InvalidRequestError";
  readonly code = "invalid_request";
}

export class RuntimeConflictError extends RuntimeError {
  override name = "RuntimeConflictError";
  readonly code = "conflict";
}

const RUNTIME_ERROR_CODES: readonly RuntimeErrorCode[] = ["invalid_payload", "not_found", "not_deployed", "publish_refused", "invalid_request", "conflict"];

export interface RuntimeErrorShape {
  code: RuntimeErrorCode;
  message: string;
  /** invalid_payload: every violation. */
  violations?: string[];
  /** publish_refused: every problem. */
  problems?: string[];
}

/**
 * Recognises a runtime error by its shape rather than its class: Next bundles route handlers
 * apart from the server entry, so the runtime on globalThis may throw another copy of the class.
 */
export function asRuntimeError(error: unknown): RuntimeErrorShape | null {
  if (typeof error !== "object" || error === null) return null;
  const candidate = error as { code?: unknown; message?: unknown; violations?: unknown; problems?: unknown };
  if (!RUNTIME_ERROR_CODES.includes(candidate.code as RuntimeErrorCode) || typeof candidate.message !== "string") return null;
  return {
    code: candidate.code as RuntimeErrorCode,
    message: candidate.message,
    ...(Array.isArray(candidate.violations) ? { violations: candidate.violations.map(String) } : {}),
    ...(Array.isArray(candidate.problems) ? { problems: candidate.problems.map(String) } : {}),
  };
}

/**
 * A handler failure that retrying cannot fix (a broken expression, an event that does not match
 * its schema): the message is parked at once.
 */
export class PermanentHandlerError extends Error {
  override name = "PermanentHandlerError";
  readonly permanent = true;
}

export function isPermanent(error: unknown): boolean {
  return typeof error === "object" && error !== null && (error as { permanent?: unknown }).permanent === true;
}

/** The claim on an outbox row was lost (its lease expired and another worker took it). */
export class LostClaimError extends Error {
  override name = "LostClaimError";
  constructor(readonly outboxId: number) {
    super(`outbox message ${outboxId} is no longer claimed by this worker`);
  }
}

// SQLSTATEs of failures that say nothing about the message: the database was busy or went away.
const TRANSIENT_SQLSTATES = new Set(["40001", "40P01", "53300", "57P01", "57P02", "57P03", "08000", "08003", "08006", "08001", "08004"]);
const TRANSIENT_NODE_CODES = new Set(["ECONNRESET", "ECONNREFUSED", "EPIPE", "ETIMEDOUT"]);

/**
 * The database could not be reached or asked to retry (no free pool connection in time, a
 * deadlock, a dropped connection). Such failures are retried without using up the message's
 * attempts, so a busy database never sends messages to the dead-letter queue.
 */
export function isTransientDatabaseError(error: unknown): boolean {
  if (typeof error !== "object" || error === null) return false;
  const { code, message } = error as { code?: unknown; message?: unknown };
  if (typeof code === "string" && (TRANSIENT_SQLSTATES.has(code) || TRANSIENT_NODE_CODES.has(code))) return true;
  return typeof message === "string" && (message.includes("timeout exceeded when trying to connect") || message.includes("Connection terminated"));
}
