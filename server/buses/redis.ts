import { Redis } from "ioredis";
import { backoffMs, decodePayload, messageIdOf, StatusTracker, type ExternalBus, type InboundMessage, type SubscribeOptions } from "./bus.ts";

export interface RedisBusOptions {
  url: string;
  /** `pubsub` (fire and forget, every subscriber gets a copy) or `stream` (kept, consumer groups, ack). */
  mode?: "pubsub" | "stream";
  /** Consumer name within a stream group; unique per process. */
  consumerName?: string;
}

const isPattern = (address: string) => /[*?[]/.test(address);

/**
 * Redis pub/sub and streams. Publishing uses one connection; subscriptions use a second one,
 * because a Redis connection in subscriber mode can do nothing else. ioredis reconnects and
 * re-subscribes on its own; we only report the state.
 */
export function createRedisBus(options: RedisBusOptions): ExternalBus {
  const status = new StatusTracker();
  const mode = options.mode ?? "pubsub";
  let attempts = 0;
  const connect = (role: string) => {
    const client = new Redis(options.url, {
      lazyConnect: true,
      maxRetriesPerRequest: null,
      enableOfflineQueue: true,
      connectionName: `sagaboard-${role}`,
      retryStrategy: (times) => backoffMs(times, 200, 5_000),
    });
    client.on("ready", () => {
      attempts = 0;
      status.set({ state: "connected", since: new Date() });
    });
    client.on("error", (error: Error) => {
      attempts += 1;
      status.set({ state: "reconnecting", attempt: attempts, lastError: error.message, since: new Date() });
    });
    return client;
  };
  const publisher = connect("publisher");
  let subscriber: Redis | undefined;
  const handlers = new Map<string, (message: InboundMessage) => void | Promise<void>>();
  const streamLoops = new Set<{ stop: boolean }>();
  let closed = false;

  const deliver = (address: string, raw: string, handlerKey: string) => {
    const handler = handlers.get(handlerKey);
    if (!handler) return;
    const payload = decodePayload(address, raw);
    void Promise.resolve(handler({ address, payload, messageId: messageIdOf(payload), receivedAt: new Date() })).catch(() => {});
  };

  const ensureSubscriber = async () => {
    if (subscriber) return subscriber;
    subscriber = connect("subscriber");
    subscriber.on("message", (channel: string, raw: string) => deliver(channel, raw, channel));
    subscriber.on("pmessage", (pattern: string, channel: string, raw: string) => deliver(channel, raw, pattern));
    await subscriber.connect();
    return subscriber;
  };

  async function subscribeStream(stream: string, onMessage: (message: InboundMessage) => void | Promise<void>, group: string, batchSize = 50, pollIntervalMs = 1_000) {
    const reader = connect(`stream-${stream}`);
    await reader.connect();
    try {
      await reader.xgroup("CREATE", stream, group, "$", "MKSTREAM");
    } catch (error) {
      if (!String((error as Error).message).includes("BUSYGROUP")) throw error;
    }
    const consumer = options.consumerName ?? `sagaboard-${process.pid}`;
    const loop = { stop: false };
    streamLoops.add(loop);
    void (async () => {
      // "0" first: entries this consumer read but never acknowledged (its handler failed, or it crashed).
      let cursor = "0";
      while (!loop.stop) {
        try {
          const batches = (await reader.xreadgroup("GROUP", group, consumer, "COUNT", batchSize, "BLOCK", pollIntervalMs, "STREAMS", stream, cursor)) as
            | [string, [string, string[]][]][]
            | null;
          if (cursor === "0" && (batches ?? []).every(([, entries]) => entries.length === 0)) cursor = ">";
          for (const [, entries] of batches ?? []) {
            for (const [entryId, fields] of entries) {
              const field = (name: string) => {
                for (let index = 0; index < fields.length - 1; index += 2) if (fields[index] === name) return fields[index + 1];
                return undefined;
              };
              const payload = decodePayload(stream, field("data") ?? "null");
              const messageId = field("id") || messageIdOf(payload) || `${stream}:${entryId}`;
              // Acknowledge only after the handler has taken the message (the runtime stores it first).
              await onMessage({ address: stream, payload, messageId, receivedAt: new Date() });
              await reader.xack(stream, group, entryId);
            }
          }
        } catch {
          if (loop.stop) break;
          cursor = "0";
          await new Promise((resolve) => setTimeout(resolve, backoffMs(1)));
        }
      }
      reader.disconnect();
    })();
    return async () => {
      loop.stop = true;
      streamLoops.delete(loop);
    };
  }

  return {
    kind: "redis",
    async publish(address, payload, publishOptions) {
      if (publisher.status === "wait") await publisher.connect();
      const raw = JSON.stringify(payload);
      if (mode === "stream") {
        await publisher.xadd(address, "*", "data", raw, ...(publishOptions?.messageId ? ["id", publishOptions.messageId] : []));
      } else {
        await publisher.publish(address, raw);
      }
    },
    async subscribe(address, onMessage, subscribeOptions?: SubscribeOptions) {
      if (closed) throw new Error("the Redis bus is closed");
      if (mode === "stream") return subscribeStream(address, onMessage, subscribeOptions?.group ?? "sagaboard", subscribeOptions?.batchSize, subscribeOptions?.pollIntervalMs);
      const client = await ensureSubscriber();
      handlers.set(address, onMessage);
      if (isPattern(address)) await client.psubscribe(address);
      else await client.subscribe(address);
      return async () => {
        handlers.delete(address);
        if (isPattern(address)) await client.punsubscribe(address);
        else await client.unsubscribe(address);
      };
    },
    status: () => status.get(),
    onStatus: (listener) => status.listen(listener),
    async close() {
      closed = true;
      for (const loop of streamLoops) loop.stop = true;
      publisher.disconnect();
      subscriber?.disconnect();
      status.set({ state: "closed" });
    },
  };
}
