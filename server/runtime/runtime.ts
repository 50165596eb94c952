/**
 * The runtime's public face: publish and deploy versions, start instances, send events and
 * commands, inspect instances, operate the dead-letter queue, set context faults, ingest
 * CloudEvents, and run workers. One Runtime per storage, kept on globalThis (getRuntime) so the
 * server entry, Next's route handlers and the tRPC router share caches and wake-ups.
 */
import { coalesce, SharedTransactions } from "../db/shared-transactions.ts";
import type { Sql, SqlQueryable } from "../db/sql.ts";
import type { Storage } from "../db/storage.ts";
import { createEventStore, type EventStore } from "../eventstore/index.ts";
import type { CommandDefinition, EventDefinition, ProcessManagerDefinition } from "../definition/v1.ts";
import { evaluateKey, ExpressionFailure } from "./core/expressions.ts";
import { derivedId } from "./core/ids.ts";
import { payloadViolations } from "./core/payload-schema.ts";
import { isPayload, type Payload } from "./core/types.ts";
import { notifyWorkers, notifyWorkersNow, systemClock, type Clock, type Committed, type RuntimeContext, type RuntimeHooks } from "./context.ts";
import { ContextSettingsCache, defaultSettings, readContextSettings, writeContextSettings, type ContextSettings, type ContextSettingsPatch } from "./contexts.ts";
import { InvalidRequestError, NotDeployedError, PayloadValidationError, RuntimeConflictError, RuntimeNotFoundError } from "./errors.ts";
import { cloudEventsFromRequest, incomingCloudEventSchema, type IncomingCloudEvent } from "./external/cloudevents.ts";
import { acceptInbound, afterInbound, retryingAppendRaces, storeInbound, type AcceptOptions, type InboundMessage, type InboundResult } from "./inbound.ts";
import { emitInspection } from "./inspection.ts";
import { getInstance, listInstances, type InstanceDetail, type InstanceFilter, type InstancePage } from "./instances.ts";
import { instanceIdOf } from "./names.ts";
import { getOutboxMessage, listOutbox, messageRef, type OutboxMessage, type OutboxPage } from "./outbox.ts";
import { CommitLog, enqueueLogged } from "./recording.ts";
import { applyMapping } from "./core/expressions.ts";
import { commandOutcomeMessage } from "./routing.ts";
import {
  deployVersion,
  listVersions,
  publishBoard,
  publishDefinition,
  undeployVersion,
  VersionCache,
  type LoadedVersion,
  type PublishedVersion,
} from "./versions.ts";
import { RuntimeWorker, type WakeHint, type WakeSource, type WorkerOptions } from "./worker.ts";

export interface RuntimeOptions {
  clock?: Clock;
  hooks?: RuntimeHooks;
  /**
   * How long workers trust cached context settings (changes made in this process apply at once);
   * see ContextSettingsCache for the default.
   */
  settingsTtlMs?: number;
  /** Event store to announce appends on (so its subscribers wake at once); one is made otherwise. */
  store?: EventStore;
}

export interface StartInput {
  boardId: string;
  /** Needed when the deployed version has several process managers. */
  processId?: string;
  /** Start event name or id; needed when the process has several. */
  event?: string;
  payload: unknown;
  /** Makes the start idempotent: the same id starts nothing new. */
  messageId?: string;
}

export interface StartResult {
  instanceId: string;
  versionId: string;
  version: number;
  processId: string;
  correlationKey: string;
  correlationId: string;
  messageId: string;
  duplicate: boolean;
}

export interface SendInput {
  boardId: string;
  /** Message name or id in the deployed version. */
  name: string;
  payload: unknown;
  messageId?: string;
  correlationId?: string;
  causationId?: string;
}

export type CommandOutcome =
  | { kind: "pending" }
  | { kind: "accepted"; events: { type: string; messageId: string; position: number }[]; streamId: string }
  | { kind: "rejected"; code: string; reason: string; streamId: string }
  | { kind: "delivered" }
  | { kind: "parked"; error: string | null; attempts: number }
  | { kind: "unknown" };

export interface ContextView extends ContextSettings {
  name: string | null;
}

export interface IngestResult {
  accepted: InboundResult[];
}

export class Runtime implements RuntimeContext, WakeSource {
  readonly sql: Sql;
  readonly shared: { handlings: SharedTransactions; inbound: SharedTransactions };
  readonly store: EventStore;
  readonly clock: Clock;
  readonly versions: VersionCache;
  readonly settings: ContextSettingsCache;
  readonly hooks: RuntimeHooks;
  private readonly storage: Pick<Storage, "sql"> & Partial<Pick<Storage, "prisma">>;
  private readonly ownsStore: boolean;
  private readonly wakeListeners = new Set<(hint?: WakeHint) => void>();
  private readonly workers = new Set<RuntimeWorker>();

  constructor(storage: Pick<Storage, "sql"> & Partial<Pick<Storage, "prisma">>, options: RuntimeOptions = {}) {
    this.storage = storage;
    this.sql = storage.sql;
    this.shared = { handlings: new SharedTransactions(this.sql), inbound: new SharedTransactions(this.sql) };
    this.clock = options.clock ?? systemClock;
    this.hooks = options.hooks ?? {};
    this.ownsStore = !options.store;
    this.store = options.store ?? createEventStore(storage.sql);
    this.versions = new VersionCache(storage.sql);
    this.settings = new ContextSettingsCache(storage.sql, options.settingsTtlMs);
  }

  // ——— notifications ———

  afterCommit(committed: Committed): void {
    if (committed.appended) this.store.announce();
    let timerAt: number | undefined;
    for (const event of committed.inspection) {
      if (event.kind === "timer.set") timerAt = Math.min(timerAt ?? Infinity, Date.parse(event.fireAt));
    }
    if (committed.queuedForAnyWorker || timerAt !== undefined) this.wake(timerAt === undefined ? undefined : { timerAt: new Date(timerAt) });
    emitInspection(committed.inspection);
  }

  onWake(listener: (hint?: WakeHint) => void): () => void {
    this.wakeListeners.add(listener);
    return () => this.wakeListeners.delete(listener);
  }

  /** Tells this process's workers to look for work now. */
  wake(hint?: WakeHint): void {
    for (const listener of this.wakeListeners) listener(hint);
  }

  // ——— versions ———

  async publishBoard(boardId: string): Promise<{ version: PublishedVersion; created: boolean }> {
    if (!this.storage.prisma) throw new InvalidRequestError("publishing a board needs the storage's Prisma client");
    return this.announcePublished(await publishBoard({ sql: this.sql, prisma: this.storage.prisma }, boardId));
  }

  async publishDefinition(boardId: string, definition: unknown): Promise<{ version: PublishedVersion; created: boolean }> {
    return this.announcePublished(await publishDefinition(this.sql, boardId, definition));
  }

  private announcePublished(result: { version: PublishedVersion; created: boolean }) {
    if (result.created) {
      emitInspection({ kind: "version.published", at: this.clock.now().toISOString(), boardId: result.version.boardId, versionId: result.version.id, version: result.version.version });
    }
    return result;
  }

  listVersions(boardId: string): Promise<PublishedVersion[]> {
    return listVersions(this.sql, boardId);
  }

  async deploy(boardId: string, version: number): Promise<PublishedVersion> {
    const deployed = await deployVersion(this.sql, boardId, version, this.clock.now());
    emitInspection({ kind: "version.deployed", at: this.clock.now().toISOString(), boardId, versionId: deployed.id, version });
    return deployed;
  }

  async undeploy(boardId: string, version: number): Promise<PublishedVersion> {
    const undeployed = await undeployVersion(this.sql, boardId, version);
    emitInspection({ kind: "version.undeployed", at: this.clock.now().toISOString(), boardId, versionId: undeployed.id, version });
    return undeployed;
  }

  async deployedVersion(boardId: string, db: SqlQueryable = this.sql): Promise<LoadedVersion> {
    const version = await this.versions.deployed(db, boardId);
    if (!version) throw new NotDeployedError(boardId);
    return version;
  }

  // ——— messages in ———

  /**
   * Starts an instance of a process of the deployed version by storing its start event. The
   * payload is checked against the event's schema first; an invalid one stores nothing.
   */
  async start(input: StartInput): Promise<StartResult> {
    const handoff = this.localHandoff();
    // One transaction from the version lookup on, shared with the other starts of the moment.
    const started = await retryingAppendRaces(() =>
      this.shared.inbound.transaction(async (tx) => {
        const version = await this.deployedVersion(input.boardId, tx);
        const { process, definition, payload, messageId, correlationKey } = await this.startEvent(version, input);
        const instanceId = instanceIdOf(version.id, process.id, correlationKey);
        const existing = coalesce(tx, "runtime_instances.correlation", instanceId, async (instanceIds: string[]) => {
          const { rows } = await tx.query<{ id: string; correlation_id: string }>(`SELECT id, correlation_id FROM runtime_instances WHERE id = ANY($1::text[])`, [instanceIds]);
          const found = new Map(rows.map((row) => [row.id, row.correlation_id]));
          return instanceIds.map((id) => found.get(id));
        });
        // Awaited below; if the body fails first, the transaction's failure is the one that counts.
        existing.catch(() => {});
        const stored = await storeInbound(tx, this, [{ kind: "event", version, definition, payload, messageId }], handoff);
        return { version, process, messageId, correlationKey, instanceId, stored, existingCorrelationId: await existing };
      }),
    );
    const { version, process, messageId, correlationKey, instanceId, stored, existingCorrelationId } = started;
    afterInbound(this, stored.log, handoff);
    const result = stored.accepted[0]!;
    if (existingCorrelationId !== undefined && !result.duplicate) {
      // Stored and delivered (the instance notes it), but it started nothing.
      throw new RuntimeConflictError(`${process.name} already has an instance for ${JSON.stringify(correlationKey)}: ${instanceId}`);
    }
    return {
      instanceId,
      versionId: version.id,
      version: version.version,
      processId: process.id,
      correlationKey,
      correlationId: existingCorrelationId ?? result.correlationId,
      messageId,
      duplicate: result.duplicate,
    };
  }

  /** The start event `input` names, its payload checked against its schema, and the instance's correlation key. */
  private async startEvent(version: LoadedVersion, input: StartInput) {
    const process = pickProcess(version, input.processId);
    const entries = input.event ? process.start.filter((entry) => entry.event.name === input.event || entry.event.id === input.event) : process.start;
    if (entries.length !== 1) {
      throw new InvalidRequestError(
        input.event
          ? `${input.event} does not start ${process.name}; it starts on ${process.start.map((entry) => entry.event.name).join(", ") || "nothing"}`
          : `${process.name} starts on ${process.start.map((entry) => entry.event.name).join(" or ") || "nothing"}: name the start event`,
      );
    }
    const entry = entries[0]!;
    const definition = version.index.eventsById.get(entry.event.id)!;
    const violations = payloadViolations(definition.schema, input.payload);
    if (violations.length > 0) throw new PayloadValidationError(definition.name, violations);
    const payload = input.payload as Payload;
    const messageId = input.messageId ?? derivedId("start", version.id, process.id, String(this.clock.now().getTime()), Math.random().toString(36));
    try {
      const correlationKey = await evaluateKey(entry.correlationKey, { event: payload, meta: { messageId, messageName: definition.name, correlationId: messageId, causationId: messageId, occurredAt: this.clock.now().toISOString(), version: 1 } }, `${process.name} correlation key`);
      return { process, definition, payload, messageId, correlationKey };
    } catch (error) {
      if (error instanceof ExpressionFailure) throw new InvalidRequestError(`The start event gives no correlation key: ${error.message}`);
      throw error;
    }
  }

  /** Stores an event of the deployed version as if it had happened, and delivers it. */
  async sendEvent(input: SendInput): Promise<InboundResult> {
    const version = await this.deployedVersion(input.boardId);
    const definition = findMessage(version.index.eventsByName, version.index.eventsById, input.name, "event");
    const [result] = await acceptInbound(this, [{ kind: "event", version, definition, payload: requirePayload(definition, input.payload), ...ids(input) }], {
      followInstances: true,
      ...this.localHandoff(),
    });
    return result!;
  }

  /** Queues a command of the deployed version for its handler. */
  async sendCommand(input: SendInput): Promise<InboundResult> {
    const version = await this.deployedVersion(input.boardId);
    const definition = findMessage(version.index.commandsByName, version.index.commandsById, input.name, "command");
    const [result] = await acceptInbound(this, [{ kind: "command", version, definition, payload: requirePayload(definition, input.payload), ...ids(input) }], { ...this.localHandoff() });
    return result!;
  }

  /**
   * CloudEvents reported by external handlers (POST /api/events): an event of the definition, or
   * an external system's inbound message (mapped to its event or command). Idempotent by id;
   * validated as a whole, so one invalid event refuses the batch and nothing is stored.
   */
  async ingest(headers: Headers, body: string): Promise<IngestResult> {
    const { events, problems } = cloudEventsFromRequest(headers, body);
    if (problems.length > 0) throw new PayloadValidationError("The request", problems);
    const parsed: IncomingCloudEvent[] = [];
    const envelopeProblems: string[] = [];
    events.forEach((candidate, index) => {
      const result = incomingCloudEventSchema.safeParse(candidate);
      const prefix = events.length > 1 ? `[${index}] ` : "";
      if (result.success) parsed.push(result.data);
      else for (const issue of result.error.issues) envelopeProblems.push(`${prefix}${issue.path.map(String).join(".") || "event"}: ${issue.message}`);
    });
    if (envelopeProblems.length > 0) throw new PayloadValidationError("The CloudEvent", envelopeProblems);

    const messages: InboundMessage[] = [];
    const messageProblems: string[] = [];
    for (const [index, event] of parsed.entries()) {
      const prefix = parsed.length > 1 ? `[${index}] ` : "";
      const version = event.boardversion ? await this.versions.get(`${event.boardid}@${event.boardversion}`).catch(() => null) : await this.versions.deployed(this.sql, event.boardid);
      if (!version) {
        messageProblems.push(`${prefix}boardid: ${event.boardversion ? `version ${event.boardversion} of` : "no deployed version of"} board ${JSON.stringify(event.boardid)}`);
        continue;
      }
      const common = { version, messageId: event.id, ...(event.correlationid ? { correlationId: event.correlationid } : {}), ...(event.causationid ? { causationId: event.causationid } : {}) };
      const data = event.data ?? {};
      const definition = version.index.eventsByName.get(event.type);
      if (definition) {
        if (!isPayload(data)) messageProblems.push(`${prefix}data: expected an object`);
        else messages.push({ kind: "event", definition, payload: data, ...common });
        continue;
      }
      const inbound = version.index.inbound.get(event.type);
      if (!inbound || inbound.length === 0) {
        messageProblems.push(`${prefix}type: ${JSON.stringify(event.type)} is neither an event of ${version.definition.name} nor a message an external system sends`);
        continue;
      }
      const { system, entry } = inbound[0]!;
      const meta = { messageId: event.id, messageName: event.type, correlationId: event.correlationid ?? event.id, causationId: event.causationid ?? event.id, occurredAt: event.time ?? this.clock.now().toISOString(), version: 0 };
      let payload: Payload;
      try {
        payload = await applyMapping(entry.mapping, { message: data, meta }, `${system.name} inbound ${entry.message}`);
      } catch (error) {
        messageProblems.push(`${prefix}data: ${(error as Error).message}`);
        continue;
      }
      if (entry.target.kind === "event") {
        const target = version.index.eventsById.get(entry.target.id);
        if (target) messages.push({ kind: "event", definition: target, payload, ...common });
      } else {
        const target = version.index.commandsById.get(entry.target.id);
        if (target) messages.push({ kind: "command", definition: target, payload, ...common });
      }
    }
    if (messageProblems.length > 0) throw new PayloadValidationError("The CloudEvent", messageProblems);
    return { accepted: await acceptInbound(this, messages, { followInstances: true, ...this.localHandoff() }) };
  }

  /** What handling a command decided, from its handler's inbox; `pending` while it waits in the outbox. */
  async commandOutcome(messageId: string): Promise<CommandOutcome> {
    // One statement, one snapshot: the inbox row and the outbox row change in the same transaction.
    const { rows } = await this.sql.query<{ handled: boolean; outcome: CommandOutcome | null; status: string | null; last_error: string | null; attempts: number | null }>(
      `SELECT EXISTS (SELECT 1 FROM runtime_inbox WHERE message_id = $1 AND (consumer LIKE 'aggregate:%' OR consumer LIKE 'external:%')) AS handled,
         (SELECT outcome FROM runtime_inbox WHERE message_id = $1 AND (consumer LIKE 'aggregate:%' OR consumer LIKE 'external:%') LIMIT 1) AS outcome,
         o.status, o.last_error, o.attempts
       FROM (SELECT 1) one LEFT JOIN LATERAL (SELECT status, last_error, attempts FROM runtime_outbox WHERE message_id = $1 AND kind = 'command' ORDER BY id LIMIT 1) o ON true`,
      [messageId],
    );
    const row = rows[0]!;
    if (row.handled) return row.outcome ?? { kind: "delivered" };
    if (row.status === null) return { kind: "unknown" };
    return row.status === "parked" ? { kind: "parked", error: row.last_error, attempts: row.attempts ?? 0 } : { kind: "pending" };
  }

  // ——— instances ———

  listInstances(filter: InstanceFilter): Promise<InstancePage> {
    return listInstances(this.sql, filter, this.clock.now());
  }

  getInstance(instanceId: string): Promise<InstanceDetail> {
    return getInstance(this.sql, instanceId, this.clock.now());
  }

  // ——— dead letters ———

  listDeadLetters(filter: { boardId?: string; after?: number; limit: number }): Promise<OutboxPage> {
    return listOutbox(this.sql, { status: "parked", ...filter });
  }

  async getDeadLetter(id: number): Promise<OutboxMessage> {
    const message = await getOutboxMessage(this.sql, id);
    if (!message || message.status !== "parked") throw new RuntimeNotFoundError("Dead letter", String(id));
    return message;
  }

  /** Puts a parked message back in line with fresh attempts; it is handled before the messages it held back. */
  async redrive(id: number): Promise<OutboxMessage> {
    const now = this.clock.now();
    const { rows } = await this.sql.query<{ id: number }>(
      `UPDATE runtime_outbox SET status = 'pending', attempts = 0, available_at = $2, parked_at = NULL, claimed_until = NULL, claim_token = NULL
       WHERE id = $1 AND status = 'parked' RETURNING id`,
      [id, now],
    );
    if (!rows[0]) throw new RuntimeNotFoundError("Dead letter", String(id));
    const message = (await getOutboxMessage(this.sql, id))!;
    emitInspection({ kind: "message.redriven", at: now.toISOString(), ...messageRef(message) });
    this.wake();
    return message;
  }

  /**
   * Drops a parked message for good, releasing the messages it held back. A command a process
   * instance sent counts as failed for that instance (which compensates).
   */
  async discard(id: number): Promise<OutboxMessage> {
    const now = this.clock.now();
    const log = new CommitLog(now);
    const message = await this.sql.transaction(async (tx) => {
      const parked = await getOutboxMessage(tx, id);
      if (!parked || parked.status !== "parked") throw new RuntimeNotFoundError("Dead letter", String(id));
      const { rowCount } = await tx.query(`DELETE FROM runtime_outbox WHERE id = $1 AND status = 'parked'`, [id]);
      if (rowCount === 0) throw new RuntimeNotFoundError("Dead letter", String(id));
      if (parked.kind === "command") {
        const version = await this.versions.get(parked.versionId, tx);
        const failure = commandOutcomeMessage(version, parked, "discarded", parked.lastError, now, derivedId(parked.messageId, "discarded"));
        if (failure) {
          await enqueueLogged(tx, log, [failure], now);
          notifyWorkers(tx, this.sql);
        }
      }
      return parked;
    });
    log.inspection.unshift({ kind: "message.discarded", at: now.toISOString(), ...messageRef(message) });
    this.afterCommit(log);
    return message;
  }

  // ——— contexts ———

  /** Every context of the deployed (else newest) version, with its settings. */
  async contextSettings(boardId: string): Promise<ContextView[]> {
    const stored = await readContextSettings(this.sql, boardId);
    const deployed = await this.versions.deployed(this.sql, boardId);
    const newest = deployed ?? (await this.listVersions(boardId).then((versions) => (versions[0] ? this.versions.get(versions[0].id) : null)));
    const contexts = newest?.definition.contexts ?? [];
    const views: ContextView[] = contexts.map((context) => ({ ...(stored.find((setting) => setting.contextId === context.id) ?? defaultSettings(boardId, context.id)), name: context.name }));
    for (const setting of stored) if (!contexts.some((context) => context.id === setting.contextId)) views.push({ ...setting, name: null });
    return views;
  }

  async updateContextSettings(boardId: string, contextId: string, patch: ContextSettingsPatch): Promise<ContextSettings> {
    const now = this.clock.now();
    const settings = await writeContextSettings(this.sql, boardId, contextId, patch, now);
    this.settings.invalidate(boardId);
    emitInspection({
      kind: "context.settings-changed",
      at: now.toISOString(),
      boardId,
      contextId,
      down: settings.down,
      latencyMs: settings.latencyMs,
      failureRate: settings.failureRate,
      duplicateDeliveries: settings.duplicateDeliveries,
      webhookUrl: settings.webhookUrl,
    });
    await notifyWorkersNow(this.sql);
    this.wake();
    return settings;
  }

  // ——— workers ———

  /** When a worker runs in this process, what the API queues goes to it at once. */
  private localHandoff(): { handoff?: AcceptOptions["handoff"] } {
    const worker = [...this.workers].find((candidate) => candidate.accepting);
    return worker ? { handoff: { leaseMs: worker.leaseMs, adopt: (message) => worker.handOver(message) } } : {};
  }

  startWorker(options: WorkerOptions = {}): RuntimeWorker {
    const worker = new RuntimeWorker(this, options).start();
    this.workers.add(worker);
    return worker;
  }

  async stopWorker(worker: RuntimeWorker): Promise<void> {
    this.workers.delete(worker);
    await worker.stop();
  }

  /** Stops this runtime's workers (and its own event store); the storage stays open. */
  async close(): Promise<void> {
    await Promise.all([...this.workers].map((worker) => worker.stop()));
    this.workers.clear();
    if (this.ownsStore) await this.store.close();
  }
}

function pickProcess(version: LoadedVersion, processId: string | undefined): ProcessManagerDefinition {
  const processes = version.definition.processManagers;
  if (processId) {
    const process = version.index.processesById.get(processId) ?? processes.find((candidate) => candidate.name === processId);
    if (!process) throw new RuntimeNotFoundError("Process", processId);
    return process;
  }
  if (processes.length === 1) return processes[0]!;
  throw new InvalidRequestError(processes.length === 0 ? `Version ${version.id} has no process manager` : `Name the process: ${processes.map((process) => process.id).join(", ")}`);
}

function findMessage<T extends EventDefinition | CommandDefinition>(byName: ReadonlyMap<string, T>, byId: ReadonlyMap<string, T>, name: string, kind: "event" | "command"): T {
  const found = byName.get(name) ?? byId.get(name);
  if (!found) throw new RuntimeNotFoundError(kind === "event" ? "Event" : "Command", name);
  return found;
}

function requirePayload(definition: EventDefinition | CommandDefinition, payload: unknown): Payload {
  const violations = payloadViolations(definition.schema, payload);
  if (violations.length > 0) throw new PayloadValidationError(definition.name, violations);
  return payload as Payload;
}

function ids(input: SendInput) {
  return {
    ...(input.messageId ? { messageId: input.messageId } : {}),
    ...(input.correlationId ? { correlationId: input.correlationId } : {}),
    ...(input.causationId ? { causationId: input.causationId } : {}),
  };
}

const RUNTIMES = Symbol.for("sagaboard.runtime.instances");
type GlobalWithRuntimes = typeof globalThis & { [RUNTIMES]?: WeakMap<object, Runtime> };

/** The process-wide runtime of `storage` (created on first use). */
export function getRuntime(storage: Pick<Storage, "sql"> & Partial<Pick<Storage, "prisma">>, options?: RuntimeOptions): Runtime {
  const global = globalThis as GlobalWithRuntimes;
  global[RUNTIMES] ??= new WeakMap();
  let runtime = global[RUNTIMES].get(storage.sql);
  if (!runtime) {
    runtime = new Runtime(storage, options);
    global[RUNTIMES].set(storage.sql, runtime);
  }
  return runtime;
}

