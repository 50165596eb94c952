import { EventStoreError } from "./errors.ts";
import { headPosition, readLog, validateFilter, validateLimit, validatePosition } from "./read.ts";
import type { EventStore } from "./store.ts";
import type { EventFilter, RecordedEvent } from "./types.ts";

export type SubscriptionHandler = (events: RecordedEvent[]) => void | Promise<void>;

export interface SubscribeOptions {
  /** Position of the last event already seen (default 0: from the start), or "end" for only new events. */
  after?: number | "end";
  filter?: EventFilter;
  /** Most events handed to one handler call (default 500). */
  batchSize?: number;
  /** Overrides the store's poll interval (the fallback when no notification arrives). */
  pollIntervalMs?: number;
  /** A failed read is retried after the poll interval; this hears about it. */
  onReadError?: (error: unknown) => void;
}

/** A running subscription; see EventStore.subscribe. */
export class Subscription {
  private cursor = 0;
  private readonly abort = new AbortController();
  private running: Promise<void> | undefined;
  private resolveDone!: () => void;
  private rejectDone!: (error: unknown) => void;
  /** Settles when the subscription ends: resolves on close, rejects when the handler throws. */
  readonly done: Promise<void>;
  private readonly batchSize: number;
  private readonly pollIntervalMs: number;

  constructor(
    private readonly store: EventStore,
    private readonly handler: SubscriptionHandler,
    private readonly options: SubscribeOptions,
    private readonly onEnd: () => void,
  ) {
    if (options.after !== undefined && options.after !== "end") validatePosition(options.after, "after position");
    this.batchSize = options.batchSize ?? 500;
    validateLimit(this.batchSize);
    validateFilter(options.filter);
    this.pollIntervalMs = options.pollIntervalMs ?? store.pollIntervalMs;
    this.done = new Promise<void>((resolve, reject) => {
      this.resolveDone = resolve;
      this.rejectDone = reject;
    });
    // Callers that never await `done` must not see an unhandled rejection.
    this.done.catch(() => {});
  }

  /** Position of the last event delivered to the handler. */
  get lastPosition(): number {
    return this.cursor;
  }

  get isClosed(): boolean {
    return this.abort.signal.aborted;
  }

  /** @internal called by EventStore.subscribe */
  start(): void {
    this.running = this.run().then(
      () => this.resolveDone(),
      (error: unknown) => this.rejectDone(error),
    ).finally(() => {
      this.abort.abort();
      this.onEnd();
    });
  }

  private async run(): Promise<void> {
    const signal = this.abort.signal;
    const filter = this.options.filter;
    if (this.options.after === "end") {
      this.cursor = await headPosition(this.store.sql, filter);
    } else {
      this.cursor = this.options.after ?? 0;
    }
    while (!signal.aborted) {
      const generation = this.store.changeGeneration;
      let events: RecordedEvent[];
      try {
        const slice = await readLog(this.store.sql, { after: this.cursor, limit: this.batchSize, filter });
        events = slice.events;
      } catch (error) {
        if (error instanceof EventStoreError || signal.aborted) throw error;
        this.options.onReadError?.(error);
        await sleep(this.pollIntervalMs, signal);
        continue;
      }
      if (signal.aborted) return;
      if (events.length > 0) {
        await this.handler(events);
        this.cursor = events[events.length - 1]!.position;
        continue;
      }
      await this.store.waitForChange(generation, this.pollIntervalMs, signal);
    }
  }

  /** Stops after the handler call in progress (if any) returns. */
  async close(): Promise<void> {
    this.abort.abort();
    await this.running;
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}
