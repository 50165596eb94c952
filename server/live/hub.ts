/**
 * The process's one reader of the live log. A single read loop feeds every connected client:
 * each committed event is read once (with its log key, one query per wake-up), mapped to a
 * CloudEvent and encoded as an SSE frame once, then handed to the subscriptions of the streams it
 * belongs to (looked up by stream name, so a connection costs nothing per event of other
 * streams); every subscription of a stream gets the same batch.
 *
 * Opening a subscription registers it with the hub first and then catches up from the store,
 * so an event committed during the catch-up is either read by it or offered live; the
 * subscription keeps whichever comes first in log order (see LiveSubscription).
 */
import { randomUUID } from "node:crypto";
import type { SqlQueryable } from "../db/sql.ts";
import type { EventStore, RecordedEvent } from "../eventstore/index.ts";
import { toCloudEvent } from "./cloudevent.ts";
import { headKey, logKeys, readAfter, type LoggedEvent, type LogKey } from "./log-view.ts";
import { LiveSubscription, type LiveEvent, type SubscriptionEnd } from "./live-subscription.ts";
import { encodeSseFrame } from "./sse.ts";
import { streamNamesOf, type StreamSelector } from "./stream-name.ts";

export interface LiveHubOptions {
  /** Most bytes of SSE frames one subscription may hold for a slow client before it is ended. */
  maxBufferedBytes?: number;
  /** How often idle connections are asked to send a heartbeat. */
  heartbeatIntervalMs?: number;
  /** The live reader's fallback poll (appends by this process's store wake it at once). */
  pollIntervalMs?: number;
  /** Events read per catch-up query. */
  catchUpBatch?: number;
  /** How long the live reader outlives the last connection, so reconnects do not restart it. */
  lingerMs?: number;
  /**
   * Fan-out pacing: after a fan-out has ended, the next waits at least this many microseconds
   * per open subscription (capped by maxPacingMs); events arriving meanwhile go out together,
   * one write per connection. An event after a quiet spell goes out at once.
   */
  pacingMicrosPerSubscription?: number;
  maxPacingMs?: number;
}

export class UnknownPositionError extends Error {
  override name = "UnknownPositionError";
  /**
   * By name: the process has one hub, created by whichever copy of this module comes first (the
   * custom server's, or one Next bundled), and callers in the other copies must recognise it.
   */
  static [Symbol.hasInstance](value: unknown): boolean {
    return value instanceof Error && value.name === "UnknownPositionError";
  }
  constructor(readonly position: number) {
    super(`There is no event at position ${position} in the log`);
  }
}

export interface OpenOptions {
  name: string;
  selector: StreamSelector;
  /** null: only events committed from now on; 0: the whole stream; n: after the event at position n. */
  after: number | null;
}

export interface HubStats {
  subscriptions: number;
  running: boolean;
  /** The last event the hub has delivered (its log key), null before the first. */
  lastKey: LogKey | null;
}

const encoder = new TextEncoder();

export function toLiveEvent(event: RecordedEvent, key: LogKey): LiveEvent {
  const cloudEvent = toCloudEvent(event);
  const frame = encoder.encode(encodeSseFrame({ id: String(event.position), event: event.type, data: JSON.stringify(cloudEvent) }));
  return { key, event, cloudEvent, frame };
}

/** The one read loop over the live end of the log. */
interface LiveReader {
  abort: AbortController;
  done: Promise<void>;
  stopListening: () => void;
}

type HubState = { kind: "idle" } | { kind: "running"; reader: LiveReader } | { kind: "closed" };

const ALL: StreamSelector = { kind: "all" };
/** Events read per query of the live end of the log. */
const LIVE_BATCH = 500;

export class LiveHub {
  readonly maxBufferedBytes: number;
  private readonly heartbeatIntervalMs: number;
  private readonly pollIntervalMs: number;
  private readonly catchUpBatch: number;
  private readonly lingerMs: number;
  private state: HubState = { kind: "idle" };
  /** Serialises starting and stopping the live reader. */
  private transition: Promise<void> = Promise.resolve();
  private readonly byStream = new Map<string, Set<LiveSubscription>>();
  private readonly byId = new Map<string, LiveSubscription>();
  private heartbeatTimer: ReturnType<typeof setInterval> | undefined;
  private lingerTimer: ReturnType<typeof setTimeout> | undefined;
  private lastKey: LogKey | null = null;
  private readonly pacingMicrosPerSubscription: number;
  private readonly maxPacingMs: number;
  private pending: LiveEvent[] = [];
  private pacingTimer: ReturnType<typeof setTimeout> | undefined;
  private lastFanOutEndedAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly store: EventStore,
    options: LiveHubOptions = {},
  ) {
    this.maxBufferedBytes = options.maxBufferedBytes ?? 1024 * 1024;
    this.heartbeatIntervalMs = options.heartbeatIntervalMs ?? 10_000;
    this.pollIntervalMs = options.pollIntervalMs ?? 100;
    this.catchUpBatch = options.catchUpBatch ?? 200;
    this.lingerMs = options.lingerMs ?? 30_000;
    this.pacingMicrosPerSubscription = options.pacingMicrosPerSubscription ?? 20;
    this.maxPacingMs = options.maxPacingMs ?? 25;
  }

  private get sql(): SqlQueryable {
    return this.store.sql;
  }

  stats(): HubStats {
    return { subscriptions: this.byId.size, running: this.state.kind === "running", lastKey: this.lastKey };
  }

  /** The subscription with this id, if it is open in this process. */
  find(id: string): LiveSubscription | undefined {
    return this.byId.get(id);
  }

  /** Ends a subscription of the named stream; false when there is no such open subscription. */
  end(name: string, id: string, end: SubscriptionEnd = { reason: "deleted" }): boolean {
    const subscription = this.byId.get(id);
    if (!subscription || subscription.name !== name) return false;
    subscription.close(end);
    return true;
  }

  /**
   * Opens a subscription: registered for live events at once, caught up in the background.
   * Throws UnknownPositionError when `after` names no committed event.
   */
  async open(options: OpenOptions): Promise<LiveSubscription> {
    if (this.state.kind === "closed") throw new Error("The live hub is closed");
    let after: LogKey | null = null;
    if (options.after !== null && options.after > 0) {
      const key = (await logKeys(this.sql, [options.after])).get(options.after);
      if (!key) throw new UnknownPositionError(options.after);
      after = key;
    }
    this.cancelLinger();
    await this.ensureRunning();
    const subscription = new LiveSubscription({
      id: randomUUID(),
      name: options.name,
      selector: options.selector,
      after,
      maxBufferedBytes: this.maxBufferedBytes,
      onEnd: (ended) => this.unregister(ended),
    });
    this.register(subscription);
    if (options.after === null) subscription.goLive();
    else void this.catchUp(subscription);
    return subscription;
  }

  private async catchUp(subscription: LiveSubscription): Promise<void> {
    try {
      while (!subscription.ended) {
        const batch = await readAfter(this.sql, subscription.selector, subscription.position, this.catchUpBatch);
        if (subscription.ended) return;
        subscription.pushCaughtUp(batch.map((logged) => toLiveEvent(logged.event, logged.key)));
        if (batch.length < this.catchUpBatch) break;
        await subscription.drained(subscription.maxBufferedBytes / 2);
      }
      subscription.goLive();
    } catch (error) {
      subscription.close({ reason: "failed", message: `catching up failed: ${(error as Error).message}` });
    }
  }

  private register(subscription: LiveSubscription): void {
    this.byId.set(subscription.id, subscription);
    let set = this.byStream.get(subscription.name);
    if (!set) this.byStream.set(subscription.name, (set = new Set()));
    set.add(subscription);
    this.heartbeatTimer ??= setInterval(() => {
      for (const open of this.byId.values()) open.heartbeat();
    }, this.heartbeatIntervalMs);
  }

  private unregister(subscription: LiveSubscription): void {
    if (this.byId.get(subscription.id) !== subscription) return;
    this.byId.delete(subscription.id);
    const set = this.byStream.get(subscription.name);
    set?.delete(subscription);
    if (set?.size === 0) this.byStream.delete(subscription.name);
    if (this.byId.size === 0) {
      clearInterval(this.heartbeatTimer);
      this.heartbeatTimer = undefined;
      this.scheduleLinger();
    }
  }

  private scheduleLinger(): void {
    if (this.state.kind !== "running" || this.lingerTimer) return;
    this.lingerTimer = setTimeout(() => {
      this.lingerTimer = undefined;
      if (this.byId.size === 0) void this.stop();
    }, this.lingerMs);
    this.lingerTimer.unref?.();
  }

  private cancelLinger(): void {
    clearTimeout(this.lingerTimer);
    this.lingerTimer = undefined;
  }

  /** Runs start/stop steps one after another; a failed step fails its caller, not the next step. */
  private serialise(step: () => Promise<void>): Promise<void> {
    const result = this.transition.then(step);
    this.transition = result.catch(() => {});
    return result;
  }

  private ensureRunning(): Promise<void> {
    return this.serialise(async () => {
      if (this.state.kind !== "idle") return;
      const stopListening = this.store.listenForCommits();
      // Reading on from the head read here: a subscription registered after this resolves
      // receives every event after it, and its catch-up reads at least up to it.
      let head: LogKey | null;
      try {
        head = await headKey(this.sql);
      } catch (error) {
        stopListening();
        throw error;
      }
      const abort = new AbortController();
      const reader: LiveReader = { abort, stopListening, done: this.readLive(head, abort.signal) };
      this.state = { kind: "running", reader };
      reader.done.then(
        () => {},
        (error: unknown) => this.failed(reader, error),
      );
    });
  }

  /**
   * One query per wake-up: the events after the last one read, in log order, with their log
   * keys. A batch shorter than LIVE_BATCH reached the end, so the next read waits for a commit
   * (or the poll), unless one was announced while this one ran.
   */
  private async readLive(head: LogKey | null, signal: AbortSignal): Promise<void> {
    let after = head;
    while (!signal.aborted) {
      if (this.store.isClosed) throw new Error("the event store closed");
      const generation = this.store.changeGeneration;
      const batch = await readAfter(this.sql, ALL, after, LIVE_BATCH);
      if (signal.aborted) return;
      if (batch.length > 0) {
        after = batch[batch.length - 1]!.key;
        this.deliver(batch);
      }
      if (batch.length < LIVE_BATCH) await this.store.waitForChange(generation, this.pollIntervalMs, signal);
    }
  }

  private stop(): Promise<void> {
    return this.serialise(async () => {
      if (this.state.kind !== "running" || this.byId.size > 0) return;
      const { reader } = this.state;
      this.state = { kind: "idle" };
      this.lastKey = null;
      await stopReader(reader);
      this.dropPending();
    });
  }

  private deliver(batch: readonly LoggedEvent[]): void {
    for (const { event, key } of batch) {
      this.pending.push(toLiveEvent(event, key));
      this.lastKey = key;
    }
    this.scheduleFanOut();
  }

  /**
   * Every write to a connection costs a system call (about 10 µs on loopback) whatever its size,
   * so with many connections events are sent in paced batches: the fan-out work then stays
   * bounded however fast events arrive, at the price of at most maxPacingMs of delay.
   */
  private scheduleFanOut(): void {
    if (this.pacingTimer || this.pending.length === 0) return;
    const intervalMs = Math.min(this.maxPacingMs, (this.byId.size * this.pacingMicrosPerSubscription) / 1000);
    const wait = this.lastFanOutEndedAt + intervalMs - performance.now();
    if (wait <= 0) {
      this.fanOut();
      return;
    }
    this.pacingTimer = setTimeout(() => {
      this.pacingTimer = undefined;
      this.fanOut();
    }, wait);
  }

  private fanOut(): void {
    const events = this.pending;
    this.pending = [];
    // A subscription follows one stream, so every subscription of a stream gets the same batch.
    const batches = new Map<string, LiveEvent[]>();
    for (const live of events) {
      for (const name of streamNamesOf(live.event)) {
        if (!this.byStream.has(name)) continue;
        const batch = batches.get(name);
        if (batch) batch.push(live);
        else batches.set(name, [live]);
      }
    }
    for (const [name, batch] of batches) {
      for (const subscription of this.byStream.get(name) ?? []) subscription.offer(batch);
    }
    // From its end: the writes happen in the loop above, so the pause leaves the processor to
    // the reads and to everything else however long the fan-out took.
    this.lastFanOutEndedAt = performance.now();
  }

  /** A read of the log failed (or the store closed): clients reconnect and resume. */
  private failed(reader: LiveReader, error: unknown): void {
    reader.stopListening();
    if (this.state.kind !== "running" || this.state.reader !== reader) return;
    this.state = { kind: "idle" };
    this.lastKey = null;
    this.dropPending();
    const message = `the live log reader stopped: ${(error as Error)?.message ?? String(error)}`;
    for (const open of [...this.byId.values()]) open.close({ reason: "failed", message });
  }

  /** Ends every subscription and the reading of the log. */
  async close(): Promise<void> {
    if (this.state.kind === "closed") return;
    this.cancelLinger();
    for (const open of [...this.byId.values()]) open.close({ reason: "closed" });
    await this.transition;
    const previous = this.state;
    this.state = { kind: "closed" };
    if (previous.kind === "running") await stopReader(previous.reader);
    this.dropPending();
  }

  /** Events read but not yet sent are dropped with the reader; subscriptions resume from the store. */
  private dropPending(): void {
    clearTimeout(this.pacingTimer);
    this.pacingTimer = undefined;
    this.pending = [];
  }
}

async function stopReader(reader: LiveReader): Promise<void> {
  reader.abort.abort();
  await reader.done.catch(() => {});
  reader.stopListening();
}
