/**
 * External message buses (Redis, NATS) as the runtime sees them: publish to an address, receive
 * from an address, and a status that the UI can show. The runtime owns validation, inbox
 * deduplication and the outbox; an adapter only moves bytes and reconnects.
 */
export type BusKind = "redis" | "nats";

export interface InboundMessage {
  /** Where it arrived (the concrete channel or subject, also for patterns and wildcards). */
  address: string;
  /** The message's own id when the sender gave one (a header, or an `id` field); else undefined. */
  messageId?: string;
  payload: unknown;
  receivedAt: Date;
}

export type BusStatus =
  | { state: "connecting" }
  | { state: "connected"; since: Date }
  | { state: "reconnecting"; attempt: number; lastError: string; since: Date }
  | { state: "closed" };

export interface SubscribeOptions {
  /** NATS queue group / Redis stream consumer group: each message goes to one member only. */
  group?: string;
  /** Redis streams: entries read per batch (COUNT) and how long one read waits (BLOCK, ms). */
  batchSize?: number;
  pollIntervalMs?: number;
}

export interface ExternalBus {
  readonly kind: BusKind;
  publish(address: string, payload: unknown, options?: { messageId?: string }): Promise<void>;
  /** Resolves once the subscription is active on the server, so nothing published after is missed. */
  subscribe(address: string, onMessage: (message: InboundMessage) => void | Promise<void>, options?: SubscribeOptions): Promise<() => Promise<void>>;
  status(): BusStatus;
  onStatus(listener: (status: BusStatus) => void): () => void;
  close(): Promise<void>;
}

export class BusPayloadError extends Error {
  override name = "BusPayloadError";
}

/** Messages on external buses are JSON; anything else is reported, not swallowed. */
export function decodePayload(address: string, raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    throw new BusPayloadError(`message on ${address} is not JSON: ${raw.slice(0, 80)}`);
  }
}

export function messageIdOf(payload: unknown): string | undefined {
  if (typeof payload !== "object" || payload === null) return undefined;
  const candidate = (payload as Record<string, unknown>).id ?? (payload as Record<string, unknown>).messageId;
  return typeof candidate === "string" && candidate.length > 0 ? candidate : undefined;
}

export function backoffMs(attempt: number, baseMs = 200, maxMs = 10_000): number {
  const exponential = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(exponential / 2 + (Math.random() * exponential) / 2);
}

/** Keeps the current status and tells listeners about changes. */
export class StatusTracker {
  private current: BusStatus = { state: "connecting" };
  private readonly listeners = new Set<(status: BusStatus) => void>();

  get(): BusStatus {
    return this.current;
  }

  set(status: BusStatus): void {
    this.current = status;
    for (const listener of this.listeners) listener(status);
  }

  listen(listener: (status: BusStatus) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
