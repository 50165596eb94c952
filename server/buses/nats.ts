import { connect, headers as natsHeaders, type NatsConnection } from "nats";
import { decodePayload, messageIdOf, StatusTracker, type ExternalBus } from "./bus.ts";

export interface NatsBusOptions {
  servers: string | string[];
  name?: string;
}

const MESSAGE_ID_HEADER = "Nats-Msg-Id";

/**
 * NATS subjects (with `*` and `>` wildcards) and queue groups, where each message goes to one
 * member of the group. The client reconnects forever and re-subscribes; we report the state.
 */
export async function createNatsBus(options: NatsBusOptions): Promise<ExternalBus> {
  const status = new StatusTracker();
  const connection: NatsConnection = await connect({
    servers: options.servers,
    name: options.name ?? `sagaboard-${process.pid}`,
    reconnect: true,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
    waitOnFirstConnect: true,
  });
  status.set({ state: "connected", since: new Date() });
  let attempt = 0;
  void (async () => {
    for await (const event of connection.status()) {
      switch (event.type) {
        case "disconnect":
        case "reconnecting":
          attempt += 1;
          status.set({ state: "reconnecting", attempt, lastError: `NATS ${event.type} (${String(event.data)})`, since: new Date() });
          break;
        case "reconnect":
          attempt = 0;
          status.set({ state: "connected", since: new Date() });
          break;
        default:
          break;
      }
    }
  })();
  const encoder = new TextEncoder();
  const decoder = new TextDecoder();

  return {
    kind: "nats",
    async publish(address, payload, publishOptions) {
      const messageHeaders = natsHeaders();
      if (publishOptions?.messageId) messageHeaders.set(MESSAGE_ID_HEADER, publishOptions.messageId);
      connection.publish(address, encoder.encode(JSON.stringify(payload)), { headers: messageHeaders });
      // Publishing is buffered by the client; flushing makes "published" mean "reached the server".
      await connection.flush();
    },
    async subscribe(address, onMessage, subscribeOptions) {
      const subscription = connection.subscribe(address, {
        ...(subscribeOptions?.group ? { queue: subscribeOptions.group } : {}),
        callback: (error, message) => {
          if (error) return;
          const payload = decodePayload(message.subject, decoder.decode(message.data));
          const messageId = message.headers?.get(MESSAGE_ID_HEADER) || messageIdOf(payload);
          void Promise.resolve(onMessage({ address: message.subject, payload, messageId: messageId || undefined, receivedAt: new Date() })).catch(() => {});
        },
      });
      // The server has registered the interest once a round trip has completed.
      await connection.flush();
      return async () => subscription.unsubscribe();
    },
    status: () => status.get(),
    onStatus: (listener) => status.listen(listener),
    async close() {
      await connection.drain().catch(() => connection.close());
      status.set({ state: "closed" });
    },
  };
}
