/**
 * The process's one reader of the live log. A single event-store subscription feeds every
 * connected client: each committed event is mapped to a CloudEvent and encoded as an SSE frame
 * once, then handed to the subscriptions of the streams it belongs to (looked up by stream name,
 * so a connection costs nothing per event of other streams).
 *
 * Opening a subscription registers it with the hub first and then catches up from the store,
 * so an event committed during the catch-up is either read by it or offered live; the
 * subscription keeps whichever comes first in log order (see LiveSubscription).
 */
import { randomUUID } from "node:crypto";
import type { SqlQueryable } from "../db/sql.ts";
import type { EventStore, RecordedEvent, Subscription } from "../eventstore/index.ts";
import { toCloudEvent } from "./cloudevent.ts";
import { logKeys, readAfter, type LogKey } from "./log-view.ts";
import { LiveSubscription, type LiveEvent, type SubscriptionEnd } from "./live-subscription.ts";
import { encodeSseFrame } from "./sse.ts";
import { streamNamesOf, type StreamSelector } from "./stream-name.ts";

export interface LiveHubOptions {
  /** Most bytes of SSE frames one subscription may hold for a slow client before it is ended. */
  maxBufferedBytes?: number;
  /** How often idle connections are asked to send a heartbeat. */
  heartbeatIntervalMs?: number;
  /** The store subscription's fallback poll (appends by this process's store wake it at once). */
  pollIntervalMs?: number;
  /** Events read per catch-up query. */
  catchUpBatch?: number;
  /** How long the store subscription outlives the last connection, so reconnects do not restart it. */
  lingerMs?: number;
  /**
   * Fan-out pacing: after a fan-out, the next waits at least this many microseconds per open
   * subscription (capped by maxPacingMs); events arriving meanwhile go out together, one write
   * per connection. An event after a quiet spell goes out at once.
   */
  pacingMicrosPerSubscription?: number;
  maxPacingMs?: number;
}

export class UnknownPositionError extends Error {
  override name = "UnknownPositionError";
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

type HubState = { kind: "idle" } | { kind: "running"; subscription: Subscription } | { kind: "closed" };

export class LiveHub {
  readonly maxBufferedBytes: number;
  private readonly heartbeatIntervalMs: number;
  private readonly pollIntervalMs: number;
  private readonly catchUpBatch: number;
  private readonly lingerMs: number;
  private state: HubState = { kind: "idle" };
  /** Serialises starting and stopping the store subscription. */
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
  private lastFanOutAt = Number.NEGATIVE_INFINITY;

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
      // Starting from the head read here: a subscription registered after this resolves
      // receives every event after it, and its catch-up reads at least up to it.
      const head = await this.store.headPosition();
      const subscription = this.store.subscribe((events) => this.deliver(events), {
        after: head,
        batchSize: 500,
        pollIntervalMs: this.pollIntervalMs,
      });
      this.state = { kind: "running", subscription };
      subscription.done.then(
        () => {},
        (error: unknown) => this.failed(subscription, error),
      );
    });
  }

  private stop(): Promise<void> {
    return this.serialise(async () => {
      if (this.state.kind !== "running" || this.byId.size > 0) return;
      const { subscription } = this.state;
      this.state = { kind: "idle" };
      this.lastKey = null;
      await subscription.close();
      this.dropPending();
    });
  }

  private async deliver(events: RecordedEvent[]): Promise<void> {
    const keys = await logKeys(this.sql, events.map((event) => event.position));
    for (const event of events) {
      const key = keys.get(event.position);
      if (!key) throw new Error(`event at position ${event.position} was read but its log key was not found`);
      this.pending.push(toLiveEvent(event, key));
      this.lastKey = key;
    }
    this.scheduleFanOut();
  }

  /**
   * Every write through a Next response costs several microseconds per connection whatever its
   * size, so with many connections events are sent in paced batches: the fan-out work then
   * stays bounded however fast events arrive, at the price of at most maxPacingMs of delay.
   */
  private scheduleFanOut(): void {
    if (this.pacingTimer || this.pending.length === 0) return;
    const intervalMs = Math.min(this.maxPacingMs, (this.byId.size * this.pacingMicrosPerSubscription) / 1000);
    const wait = this.lastFanOutAt + intervalMs - performance.now();
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
    this.lastFanOutAt = performance.now();
    const batches = new Map<LiveSubscription, LiveEvent[]>();
    for (const live of events) {
      for (const name of streamNamesOf(live.event)) {
        const subscriptions = this.byStream.get(name);
        if (!subscriptions) continue;
        for (const subscription of subscriptions) {
          const batch = batches.get(subscription);
          if (batch) batch.push(live);
          else batches.set(subscription, [live]);
        }
      }
    }
    for (const [subscription, batch] of batches) subscription.offer(batch);
  }

  /** The store subscription died (the store closed, or a read kept failing): clients reconnect. */
  private failed(subscription: Subscription, error: unknown): void {
    if (this.state.kind !== "running" || this.state.subscription !== subscription) return;
    this.state = { kind: "idle" };
    this.lastKey = null;
    this.dropPending();
    const message = `the live log reader stopped: ${(error as Error)?.message ?? String(error)}`;
    for (const open of [...this.byId.values()]) open.close({ reason: "failed", message });
  }

  /** Ends every subscription and the store subscription. */
  async close(): Promise<void> {
    if (this.state.kind === "closed") return;
    this.cancelLinger();
    for (const open of [...this.byId.values()]) open.close({ reason: "closed" });
    await this.transition;
    const previous = this.state;
    this.state = { kind: "closed" };
    if (previous.kind === "running") await previous.subscription.close();
    this.dropPending();
  }

  /** Events read but not yet sent are dropped with the reader; subscriptions resume from the store. */
  private dropPending(): void {
    clearTimeout(this.pacingTimer);
    this.pacingTimer = undefined;
    this.pending = [];
  }
}
