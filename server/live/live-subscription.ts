/**
 * One client's subscription to one stream: a bounded queue between the hub (which offers live
 * events as they commit) and the connection (which takes them as fast as the client reads).
 *
 * A subscription starts catching up from the store while it already receives live events; those
 * wait aside until the catch-up has read to the end, and then only the ones after the last
 * caught-up event (in log order) follow. The queue is bounded in bytes: a client that falls
 * further behind than that is ended with `overflow` and resumes later with Last-Event-ID.
 */
import type { RecordedEvent } from "../eventstore/index.ts";
import type { CloudEvent } from "./cloudevent.ts";
import { compareLogKeys, type LogKey } from "./log-view.ts";
import type { StreamSelector } from "./stream-name.ts";

export interface LiveEvent {
  key: LogKey;
  event: RecordedEvent;
  cloudEvent: CloudEvent;
  /** The whole SSE frame, encoded once and shared by every connection that sends it. */
  frame: Uint8Array;
}

export type SubscriptionEnd =
  | { reason: "client" }
  | { reason: "deleted" }
  | { reason: "overflow"; bufferedBytes: number; limitBytes: number }
  | { reason: "failed"; message: string }
  | { reason: "closed" };

export type SubscriptionItem = { kind: "event"; event: LiveEvent } | { kind: "heartbeat" } | { kind: "end"; end: SubscriptionEnd };

type Phase = "catching-up" | "live" | "ended";

export interface LiveSubscriptionOptions {
  id: string;
  name: string;
  selector: StreamSelector;
  /** The last event the client already has; null: everything offered is new to it. */
  after: LogKey | null;
  maxBufferedBytes: number;
  onEnd: (subscription: LiveSubscription) => void;
}

export class LiveSubscription {
  readonly id: string;
  readonly name: string;
  readonly selector: StreamSelector;
  readonly maxBufferedBytes: number;
  private phase: Phase = "catching-up";
  private lastKey: LogKey | null;
  private queue: (LiveEvent | undefined)[] = [];
  private queueHead = 0;
  private queueBytes = 0;
  private asideWhileCatchingUp: LiveEvent[] = [];
  private asideBytes = 0;
  private heartbeatDue = false;
  private endState: SubscriptionEnd | undefined;
  private wakeConsumer: (() => void) | undefined;
  private readableListener: (() => void) | undefined;
  private wakeProducer: (() => void) | undefined;
  private readonly onEnd: (subscription: LiveSubscription) => void;

  constructor(options: LiveSubscriptionOptions) {
    this.id = options.id;
    this.name = options.name;
    this.selector = options.selector;
    this.lastKey = options.after;
    this.maxBufferedBytes = options.maxBufferedBytes;
    this.onEnd = options.onEnd;
  }

  /** The last event queued for the client (its log key), null before the first. */
  get position(): LogKey | null {
    return this.lastKey;
  }

  get ended(): SubscriptionEnd | undefined {
    return this.endState;
  }

  get isCatchingUp(): boolean {
    return this.phase === "catching-up";
  }

  /** Bytes queued for the client to take now. */
  get queuedBytes(): number {
    return this.queueBytes;
  }

  /** Bytes waiting for the client, including live events held aside during catch-up. */
  get bufferedBytes(): number {
    return this.queueBytes + this.asideBytes;
  }

  /**
   * From the hub: live events of this stream, in log order. The consumer is woken once for all
   * of them, so a batch read by the hub leaves as one write per connection.
   */
  offer(events: readonly LiveEvent[]): void {
    switch (this.phase) {
      case "ended":
        return;
      case "catching-up":
        for (const event of events) {
          this.asideWhileCatchingUp.push(event);
          this.asideBytes += event.frame.byteLength;
        }
        if (this.asideBytes > this.maxBufferedBytes) this.overflow();
        return;
      case "live":
        for (const event of events) if (!this.enqueueIfNew(event, true)) return;
        this.wake();
        return;
      default: {
        const unreachable: never = this.phase;
        throw new Error(`unknown phase ${String(unreachable)}`);
      }
    }
  }

  /** From the catch-up reader: the next stored events after the client's resume point. */
  pushCaughtUp(events: readonly LiveEvent[]): void {
    if (this.phase !== "catching-up") throw new Error("pushCaughtUp after the catch-up ended");
    for (const event of events) this.enqueueIfNew(event, false);
    this.wake();
  }

  /** Catch-up has read to the end of the readable log; live events take over. */
  goLive(): void {
    if (this.phase !== "catching-up") return;
    this.phase = "live";
    const aside = this.asideWhileCatchingUp;
    this.asideWhileCatchingUp = [];
    this.asideBytes = 0;
    this.offer(aside);
  }

  /** Resolves when the queue holds at most `bytes` (or the subscription ended). */
  drained(bytes: number): Promise<void> {
    if (this.queueBytes <= bytes || this.endState) return Promise.resolve();
    return new Promise((resolve) => {
      this.wakeProducer = () => {
        if (this.queueBytes <= bytes || this.endState) {
          this.wakeProducer = undefined;
          resolve();
        }
      };
    });
  }

  /** From the hub's timer: the connection should show it is alive if it has nothing else to send. */
  heartbeat(): void {
    if (this.endState || this.queue.length > this.queueHead) return;
    this.heartbeatDue = true;
    this.wake();
  }

  /** The next thing to send; waits while there is none. After `end`, returns `end` again. */
  async next(): Promise<SubscriptionItem> {
    for (;;) {
      if (this.queue.length > this.queueHead) return { kind: "event", event: this.take() };
      if (this.endState) return { kind: "end", end: this.endState };
      if (this.heartbeatDue) {
        this.heartbeatDue = false;
        return { kind: "heartbeat" };
      }
      await new Promise<void>((resolve) => (this.wakeConsumer = resolve));
    }
  }

  /**
   * The synchronous way to consume, instead of next(): `listener` is called whenever something
   * may have become available; the consumer then takes it with poll() and takeHeartbeat(), and
   * checks `ended` once nothing is queued.
   */
  onReadable(listener: () => void): void {
    this.readableListener = listener;
  }

  /** The next queued event, without waiting. */
  poll(): LiveEvent | undefined {
    return this.queue.length > this.queueHead ? this.take() : undefined;
  }

  /** Whether a heartbeat is due (and clears it). */
  takeHeartbeat(): boolean {
    const due = this.heartbeatDue;
    this.heartbeatDue = false;
    return due;
  }

  /** Ends the subscription; events still queued are dropped, except that the consumer sees `end`. */
  close(end: SubscriptionEnd): void {
    if (this.endState) return;
    this.endState = end;
    this.phase = "ended";
    this.queue = [];
    this.queueHead = 0;
    this.queueBytes = 0;
    this.asideWhileCatchingUp = [];
    this.asideBytes = 0;
    this.wake();
    this.wakeProducer?.();
    this.onEnd(this);
  }

  /** False when the subscription overflowed (and ended) instead. */
  private enqueueIfNew(event: LiveEvent, live: boolean): boolean {
    if (this.lastKey !== null && compareLogKeys(event.key, this.lastKey) <= 0) return true;
    // One event is always accepted into an empty queue, however large it is.
    if (live && this.queue.length > this.queueHead && this.queueBytes + event.frame.byteLength > this.maxBufferedBytes) {
      this.overflow();
      return false;
    }
    this.queue.push(event);
    this.queueBytes += event.frame.byteLength;
    this.lastKey = event.key;
    return true;
  }

  private take(): LiveEvent {
    const event = this.queue[this.queueHead]!;
    this.queue[this.queueHead] = undefined;
    this.queueHead += 1;
    if (this.queueHead === this.queue.length) {
      this.queue = [];
      this.queueHead = 0;
    } else if (this.queueHead > 1024 && this.queueHead * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.queueHead);
      this.queueHead = 0;
    }
    this.queueBytes -= event.frame.byteLength;
    this.wakeProducer?.();
    return event;
  }

  private overflow(): void {
    this.close({ reason: "overflow", bufferedBytes: this.bufferedBytes, limitBytes: this.maxBufferedBytes });
  }

  private wake(): void {
    const wake = this.wakeConsumer;
    this.wakeConsumer = undefined;
    wake?.();
    this.readableListener?.();
  }
}
