/**
 * Shapes shared by the pure cores: the `meta` object expressions see, messages as the cores
 * receive them, and the retry policy carried by every command.
 */
import type { ElementRef } from "../../definition/v1.ts";

/** The `meta` input of expressions (see metaFields in definition/v1.ts). */
export interface MessageMeta {
  messageId: string;
  messageName: string;
  correlationId: string;
  causationId: string;
  occurredAt: string;
  /** Aggregate version before the command (decisions), or the event's version in its stream. */
  version: number;
}

export type Payload = Record<string, unknown>;

/** A domain event as the cores see it: which element of the definition, its payload and meta. */
export interface DomainEvent {
  event: ElementRef;
  payload: Payload;
  meta: MessageMeta;
}

export interface DomainCommand {
  command: ElementRef;
  payload: Payload;
  meta: MessageMeta;
}

export interface RetryPolicy {
  maxAttempts: number;
  initialDelayMs: number;
  multiplier: number;
  maxDelayMs: number;
}

/** For messages the definition gives no policy for (event deliveries, commands sent by hand). */
export const DEFAULT_RETRY_POLICY: RetryPolicy = { maxAttempts: 6, initialDelayMs: 200, multiplier: 2, maxDelayMs: 10_000 };

export function isPayload(value: unknown): value is Payload {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
