/**
 * The runtime's connections to external message buses.
 *
 * Outbound: Redis and NATS transports registered with the runtime, so an outbox row for an
 * external system bound to a channel or subject is published by the worker after its transaction
 * committed, and retried with backoff (then parked, redrivable) while the broker is away.
 *
 * Inbound: for every deployed version, every external system with inbound entries and a Redis or
 * NATS binding is subscribed; each message is handed to the runtime as a CloudEvent (mapped,
 * validated, deduplicated by id). Subscriptions follow deploy/undeploy by polling the deployed
 * versions (and at once on refresh()).
 */
import { randomUUID } from "node:crypto";
import os from "node:os";
import pg from "pg";
import type { Sql } from "../db/sql.ts";
import type { Env } from "../env.ts";
import type { BindingDefinition, ExternalSystemDefinition } from "../definition/v1.ts";
import { asRuntimeError, registerTransport, type DeliverableBinding, type ExternalTransport, type OutgoingCloudEvent, type Runtime } from "../runtime/index.ts";
import type { LoadedVersion } from "../runtime/versions.ts";
import { backoffMs, type BusKind, type BusStatus, type ExternalBus, type InboundMessage, type SubscribeOptions } from "./bus.ts";
import { createNatsBus } from "./nats.ts";
import { createRedisBus } from "./redis.ts";

export interface BusConnectionsOptions {
  runtime: Runtime;
  redisUrl?: string;
  natsServers?: string;
  /** How often deployed versions are checked for bindings to (un)subscribe. */
  pollIntervalMs?: number;
  onError?: (error: unknown) => void;
}

type BusBinding = Extract<BindingDefinition, { kind: "redis" | "nats" }>;
export type BusRole = "redis-pubsub" | "redis-stream" | "nats";

export type SubscriptionState =
  | { state: "subscribing" }
  | { state: "subscribed"; since: Date }
  /** Redis pub/sub on PostgreSQL: another worker holds this binding's lock and ingests for everyone. */
  | { state: "standby"; reason: string }
  | { state: "retrying"; attempt: number; lastError: string; retryAt: Date };

export interface BindingStatus {
  key: string;
  boardId: string;
  versionId: string;
  systemId: string;
  systemName: string;
  direction: "inbound" | "outbound";
  kind: BusKind;
  transport: BusRole;
  address: string;
  /** NATS queue group or Redis stream consumer group the runtime joins; null for plain pub/sub. */
  group: string | null;
  connection: BusStatus;
  /** Inbound only. */
  subscription: SubscriptionState | null;
  received: number;
  refused: number;
  lastError: string | null;
}

export interface BusConnectionsStatus {
  running: boolean;
  bindings: BindingStatus[];
}

interface InboundSubscription {
  status: BindingStatus;
  binding: BusBinding;
  system: ExternalSystemDefinition;
  version: LoadedVersion;
  unsubscribe: (() => Promise<void>) | null;
  lockKey: string | null;
  attempt: number;
  retryTimer: NodeJS.Timeout | null;
  closed: boolean;
}

const roleOf = (binding: BusBinding): BusRole => {
  switch (binding.kind) {
    case "redis":
      return binding.mode === "stream" ? "redis-stream" : "redis-pubsub";
    case "nats":
      return "nats";
    default: {
      const unknown: never = binding;
      throw new Error(`unknown bus binding ${JSON.stringify(unknown)}`);
    }
  }
};

const addressOf = (binding: BusBinding) => (binding.kind === "redis" ? binding.channel : binding.subject);

const isBusBinding = (binding: BindingDefinition): binding is BusBinding => binding.kind === "redis" || binding.kind === "nats";

/** How long a subscription waits for its broker before it retries with backoff (and says so in its status). */
const CONNECT_WAIT_MS = 3_000;

export class BrokerUnavailableError extends Error {
  override name = "BrokerUnavailableError";
}

/**
 * What arrived, unwrapped: a CloudEvent (structured JSON, as the runtime itself publishes on
 * pub/sub), a queue message `{id, name, payload}` (SEEDS 002), or a bare payload.
 */
export function unwrapInbound(payload: unknown, knownNames: readonly string[]): { id?: string; type?: string; data: unknown } {
  if (typeof payload === "object" && payload !== null && !Array.isArray(payload)) {
    const record = payload as Record<string, unknown>;
    if (record.specversion === "1.0" && typeof record.type === "string") {
      return { ...(typeof record.id === "string" && record.id ? { id: record.id } : {}), type: record.type, data: record.data ?? {} };
    }
    if (typeof record.name === "string" && knownNames.includes(record.name) && typeof record.payload === "object" && record.payload !== null) {
      return { ...(typeof record.id === "string" && record.id ? { id: record.id } : {}), type: record.name, data: record.payload };
    }
  }
  return { data: payload };
}

async function withTimeout<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new BrokerUnavailableError(`${what}: no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Resolves once the bus is connected; throws after `timeoutMs` saying why it is not. */
async function connected(bus: ExternalBus, timeoutMs: number, what: string): Promise<void> {
  if (bus.status().state === "connected") return;
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    if (bus.status().state === "connected") return;
  }
  const status = bus.status();
  throw new BrokerUnavailableError(`${what} is unavailable${status.state === "reconnecting" ? `: ${status.lastError}` : ` (${status.state})`}`);
}

export class BusConnections {
  private readonly runtime: Runtime;
  private readonly sql: Sql;
  private readonly redisUrl: string;
  private readonly natsServers: string;
  private readonly pollIntervalMs: number;
  private readonly onError: (error: unknown) => void;
  private readonly buses = new Map<BusRole, Promise<ExternalBus>>();
  private readonly resolvedBuses = new Map<BusRole, ExternalBus>();
  private readonly inbound = new Map<string, InboundSubscription>();
  private outbound: BindingStatus[] = [];
  private readonly unregister: (() => void)[] = [];
  private pollTimer: NodeJS.Timeout | null = null;
  private syncing: Promise<void> | null = null;
  private lockClient: pg.Client | null = null;
  private readonly heldLocks = new Set<string>();
  private running = false;

  constructor(options: BusConnectionsOptions) {
    this.runtime = options.runtime;
    this.sql = options.runtime.sql;
    this.redisUrl = options.redisUrl ?? "redis://127.0.0.1:6379";
    this.natsServers = options.natsServers ?? "127.0.0.1:4222";
    this.pollIntervalMs = options.pollIntervalMs ?? 2_000;
    this.onError = options.onError ?? (() => {});
  }

  /** Registers the outbound transports and starts following deployed versions. */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    const transport: ExternalTransport = { deliver: (binding, event, options) => this.deliver(binding, event, options.timeoutMs) };
    this.unregister.push(registerTransport("redis", transport), registerTransport("nats", transport));
    await this.refresh();
    const schedule = () => {
      this.pollTimer = setTimeout(() => {
        void this.refresh()
          .catch(this.onError)
          .finally(() => {
            if (this.running) schedule();
          });
      }, this.pollIntervalMs);
    };
    schedule();
  }

  /** Subscribes what deployed versions bind and nothing else; resolves once that is done. */
  refresh(): Promise<void> {
    this.syncing ??= this.sync().finally(() => {
      this.syncing = null;
    });
    return this.syncing;
  }

  status(): BusConnectionsStatus {
    const withConnection = (status: BindingStatus): BindingStatus => {
      const bus = this.resolvedBuses.get(status.transport);
      return { ...status, connection: bus ? bus.status() : { state: "connecting" } };
    };
    return {
      running: this.running,
      bindings: [...[...this.inbound.values()].map((subscription) => withConnection(subscription.status)), ...this.outbound.map(withConnection)].sort((a, b) =>
        a.key.localeCompare(b.key),
      ),
    };
  }

  async close(): Promise<void> {
    this.running = false;
    if (this.pollTimer) clearTimeout(this.pollTimer);
    await this.syncing?.catch(() => {});
    for (const undo of this.unregister.splice(0)) undo();
    await Promise.all([...this.inbound.keys()].map((key) => this.stopSubscription(key)));
    await this.lockClient?.end().catch(() => {});
    this.lockClient = null;
    this.heldLocks.clear();
    const pending = [...this.buses.entries()].filter(([role]) => !this.resolvedBuses.has(role)).map(([, bus]) => bus);
    const open = [...this.resolvedBuses.values()];
    this.buses.clear();
    this.resolvedBuses.clear();
    // A bus still waiting for its broker is closed whenever it connects.
    for (const bus of pending) void bus.then((late) => late.close()).catch(() => {});
    await Promise.all(open.map((bus) => bus.close().catch(this.onError)));
  }

  private bus(role: BusRole): Promise<ExternalBus> {
    let bus = this.buses.get(role);
    if (!bus) {
      bus = (async () => {
        const created =
          role === "nats"
            ? await createNatsBus({ servers: this.natsServers, name: `sagaboard-${os.hostname()}-${process.pid}` })
            : createRedisBus({ url: this.redisUrl, mode: role === "redis-stream" ? "stream" : "pubsub", consumerName: `sagaboard-${os.hostname()}-${process.pid}` });
        this.resolvedBuses.set(role, created);
        return created;
      })();
      // A failed first connection is tried again by the next caller.
      bus.catch(() => this.buses.delete(role));
      this.buses.set(role, bus);
    }
    return bus;
  }

  private async deliver(binding: DeliverableBinding, event: OutgoingCloudEvent, timeoutMs: number): Promise<void> {
    if (!isBusBinding(binding)) throw new Error(`the bus transport cannot deliver to a ${binding.kind} binding`);
    const role = roleOf(binding);
    const address = addressOf(binding);
    const what = `${binding.kind === "redis" ? `Redis at ${this.redisUrl}` : `NATS at ${this.natsServers}`}`;
    const started = Date.now();
    const bus = await withTimeout(this.bus(role), timeoutMs, what);
    await connected(bus, Math.max(0, timeoutMs - (Date.now() - started)), what);
    const remaining = Math.max(1, timeoutMs - (Date.now() - started));
    switch (role) {
      // Pub/sub carries no headers: the CloudEvent itself is the envelope that carries the id.
      case "redis-pubsub":
        return withTimeout(bus.publish(address, event), remaining, `PUBLISH ${address} on ${what}`);
      case "redis-stream":
        return withTimeout(bus.publish(address, event.data, { messageId: event.id }), remaining, `XADD ${address} on ${what}`);
      case "nats":
        return withTimeout(bus.publish(address, event.data, { messageId: event.id }), remaining, `publish ${address} on ${what}`);
      default: {
        const unknown: never = role;
        throw new Error(`unknown bus role ${String(unknown)}`);
      }
    }
  }

  private async sync(): Promise<void> {
    const { rows } = await this.sql.query<{ id: string }>(`SELECT id FROM process_versions WHERE deployed ORDER BY id`);
    const versions: LoadedVersion[] = [];
    for (const row of rows) {
      try {
        versions.push(await this.runtime.versions.get(row.id));
      } catch (error) {
        this.onError(error);
      }
    }
    const wanted = new Map<string, { version: LoadedVersion; system: ExternalSystemDefinition; binding: BusBinding }>();
    const outbound: BindingStatus[] = [];
    for (const version of versions) {
      for (const system of version.definition.externalSystems) {
        const binding = system.binding;
        if (!isBusBinding(binding)) continue;
        const base = { boardId: version.boardId, versionId: version.id, systemId: system.id, systemName: system.name, kind: binding.kind, transport: roleOf(binding), address: addressOf(binding) };
        if (system.inbound.length > 0) wanted.set(`inbound:${version.id}:${system.id}`, { version, system, binding });
        if (system.outbound.length > 0) {
          outbound.push({ key: `outbound:${version.id}:${system.id}`, direction: "outbound", group: null, ...base, connection: { state: "connecting" }, subscription: null, received: 0, refused: 0, lastError: null });
          // Connect ahead of the first message, so the status shows whether the broker is there.
          void this.bus(roleOf(binding)).catch(this.onError);
        }
      }
    }
    this.outbound = outbound;
    for (const key of [...this.inbound.keys()]) if (!wanted.has(key)) await this.stopSubscription(key);
    for (const [key, target] of wanted) {
      const existing = this.inbound.get(key);
      if (existing) {
        if (existing.unsubscribe === null && existing.retryTimer === null) await this.subscribe(existing);
        continue;
      }
      const subscription: InboundSubscription = {
        status: {
          key,
          boardId: target.version.boardId,
          versionId: target.version.id,
          systemId: target.system.id,
          systemName: target.system.name,
          direction: "inbound",
          kind: target.binding.kind,
          transport: roleOf(target.binding),
          address: addressOf(target.binding),
          group: this.groupOf(target.version, target.system, target.binding),
          connection: { state: "connecting" },
          subscription: { state: "subscribing" },
          received: 0,
          refused: 0,
          lastError: null,
        },
        binding: target.binding,
        system: target.system,
        version: target.version,
        unsubscribe: null,
        lockKey: roleOf(target.binding) === "redis-pubsub" && this.sql.kind === "postgresql" ? `sagaboard-bus:${target.version.boardId}:${addressOf(target.binding)}` : null,
        attempt: 0,
        retryTimer: null,
        closed: false,
      };
      this.inbound.set(key, subscription);
      await this.subscribe(subscription);
    }
  }

  /**
   * Competing workers share one subscription: a NATS queue group (the binding's, or one per board
   * and system) and a Redis stream consumer group. Redis pub/sub has no groups: a lock instead.
   */
  private groupOf(version: LoadedVersion, system: ExternalSystemDefinition, binding: BusBinding): string | null {
    switch (binding.kind) {
      case "nats":
        return binding.queueGroup || `sagaboard.${version.boardId}.${system.id}`;
      case "redis":
        return binding.mode === "stream" ? `sagaboard:${version.boardId}:${system.id}` : null;
      default: {
        const unknown: never = binding;
        throw new Error(`unknown bus binding ${JSON.stringify(unknown)}`);
      }
    }
  }

  private async subscribe(subscription: InboundSubscription): Promise<void> {
    if (subscription.closed || !this.running) return;
    try {
      if (subscription.lockKey && !(await this.tryLock(subscription.lockKey))) {
        subscription.status.subscription = { state: "standby", reason: "another worker holds this channel's subscription" };
        return;
      }
      const bus = await withTimeout(this.bus(roleOf(subscription.binding)), CONNECT_WAIT_MS, `connecting to ${subscription.binding.kind === "redis" ? `Redis at ${this.redisUrl}` : `NATS at ${this.natsServers}`}`);
      const group = subscription.status.group;
      const unsubscribe = await bus.subscribe(subscription.status.address, (message) => this.receive(subscription, message), subscribeOptionsOf(subscription.binding, group));
      if (subscription.closed) {
        await unsubscribe();
        return;
      }
      subscription.unsubscribe = unsubscribe;
      subscription.attempt = 0;
      subscription.status.subscription = { state: "subscribed", since: new Date() };
    } catch (error) {
      subscription.attempt += 1;
      const delay = backoffMs(subscription.attempt, 500, 30_000);
      const message = (error as Error).message;
      subscription.status.lastError = message;
      subscription.status.subscription = { state: "retrying", attempt: subscription.attempt, lastError: message, retryAt: new Date(Date.now() + delay) };
      subscription.retryTimer = setTimeout(() => {
        subscription.retryTimer = null;
        void this.subscribe(subscription);
      }, delay);
    }
  }

  private async receive(subscription: InboundSubscription, message: InboundMessage): Promise<void> {
    subscription.status.received += 1;
    const names = subscription.system.inbound.map((entry) => entry.message);
    const unwrapped = unwrapInbound(message.payload, names);
    const type = unwrapped.type && names.includes(unwrapped.type) ? unwrapped.type : names.length === 1 ? names[0] : undefined;
    if (!type) {
      subscription.status.refused += 1;
      subscription.status.lastError = `a message on ${message.address} names none of ${names.join(", ")}`;
      return;
    }
    // Without an id from the sender or the transport, one is made: only one subscriber gets the message.
    const id = unwrapped.id ?? message.messageId ?? randomUUID();
    const cloudEvent = {
      specversion: "1.0",
      id,
      source: `/sagaboard/buses/${subscription.binding.kind}/${encodeURIComponent(message.address)}`,
      type,
      time: message.receivedAt.toISOString(),
      datacontenttype: "application/json",
      boardid: subscription.version.boardId,
      boardversion: subscription.version.version,
      data: unwrapped.data,
    };
    try {
      await this.runtime.ingest(new Headers({ "content-type": "application/cloudevents+json" }), JSON.stringify(cloudEvent));
    } catch (error) {
      // A message the runtime refuses (invalid, or its version no longer deployed) is dropped, and counted.
      const refused = asRuntimeError(error) !== null;
      const problems = asRuntimeError(error)?.problems ?? [];
      subscription.status.lastError = [(error as Error).message, ...problems].join("; ");
      if (refused) {
        subscription.status.refused += 1;
        return;
      }
      this.onError(error);
      // Storage trouble: a stream entry stays unacknowledged and is read again.
      throw error;
    }
  }

  private async stopSubscription(key: string): Promise<void> {
    const subscription = this.inbound.get(key);
    if (!subscription) return;
    this.inbound.delete(key);
    subscription.closed = true;
    if (subscription.retryTimer) clearTimeout(subscription.retryTimer);
    await subscription.unsubscribe?.().catch(this.onError);
    if (subscription.lockKey && ![...this.inbound.values()].some((other) => other.lockKey === subscription.lockKey)) await this.unlock(subscription.lockKey);
  }

  /** A session-level advisory lock on a connection of its own, held while this process subscribes. */
  private async tryLock(key: string): Promise<boolean> {
    if (this.heldLocks.has(key)) return true;
    const pool = (this.sql as { pool?: pg.Pool }).pool;
    if (!pool) throw new Error("advisory locks need the PostgreSQL pool");
    if (!this.lockClient) {
      const client = new pg.Client(pool.options as pg.ClientConfig);
      client.on("error", (error) => {
        // The session and its locks are gone: subscriptions that depended on them stop and try again.
        this.onError(error);
        if (this.lockClient !== client) return;
        this.lockClient = null;
        this.heldLocks.clear();
        for (const subscription of this.inbound.values()) {
          if (!subscription.lockKey || !subscription.unsubscribe) continue;
          void subscription.unsubscribe().catch(this.onError);
          subscription.unsubscribe = null;
          subscription.status.subscription = { state: "subscribing" };
        }
      });
      await client.connect();
      this.lockClient = client;
    }
    const { rows } = await this.lockClient.query<{ locked: boolean }>(`SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS locked`, [key]);
    if (rows[0]?.locked) this.heldLocks.add(key);
    return rows[0]?.locked ?? false;
  }

  private async unlock(key: string): Promise<void> {
    if (!this.heldLocks.delete(key) || !this.lockClient) return;
    await this.lockClient.query(`SELECT pg_advisory_unlock(hashtextextended($1, 0))`, [key]).catch(this.onError);
  }
}

const KEY = Symbol.for("sagaboard.buses.connections");
type GlobalWithBuses = typeof globalThis & { [KEY]?: BusConnections };

/** The process's bus connections (shared with the tRPC router through globalThis, like the runtime). */
export function getBusConnections(): BusConnections | null {
  return (globalThis as GlobalWithBuses)[KEY] ?? null;
}

function subscribeOptionsOf(binding: BusBinding, group: string | null): SubscribeOptions {
  return {
    ...(group ? { group } : {}),
    ...(binding.kind === "redis" && binding.batchSize !== undefined ? { batchSize: binding.batchSize } : {}),
    ...(binding.kind === "redis" && binding.pollIntervalMs !== undefined ? { pollIntervalMs: binding.pollIntervalMs } : {}),
  };
}

/** Starts the app's bus connections (server/main.ts, next to the in-process worker). */
export function startBusConnections(options: BusConnectionsOptions): BusConnections {
  const connections = new BusConnections(options);
  (globalThis as GlobalWithBuses)[KEY] = connections;
  void connections.start().catch(options.onError ?? (() => {}));
  return connections;
}

export function busEnvironment(env: Pick<Env, "SAGABOARD_REDIS_URL" | "SAGABOARD_NATS_URL">): { redisUrl: string; natsServers: string } {
  return { redisUrl: env.SAGABOARD_REDIS_URL, natsServers: env.SAGABOARD_NATS_URL };
}
