import { AckPolicy, connect, DeliverPolicy, headers as natsHeaders, StorageType, type JetStreamManager, type NatsConnection } from "nats";
import { decodePayload, messageIdOf, StatusTracker, type ExternalBus } from "./bus.ts";

export interface NatsBusOptions {
  servers: string | string[];
  name?: string;
}

const MESSAGE_ID_HEADER = "Nats-Msg-Id";

/** The JetStream stream Sagaboard creates for a subject no stream captures yet. */
export function jetStreamNameFor(subject: string): string {
  return `SAGABOARD_${subject.replace(/\*/g, "STAR").replace(/>/g, "ALL").replace(/[^A-Za-z0-9_-]/g, "_")}`;
}

const NANOS_PER_SECOND = 1_000_000_000;
const STREAM_LOOKUP_RETRY_MS = 30_000;

const durableNameFor = (group: string) => group.replace(/[^A-Za-z0-9_-]/g, "_");

/**
 * NATS subjects (with `*` and `>` wildcards) and queue groups, where each message goes to one
 * member of the group. The client reconnects forever and re-subscribes; we report the state.
 *
 * With JetStream on the server, a subject is kept in a stream (an existing one that captures it,
 * or one made for it): publishing waits for the stream's acknowledgement and is deduplicated by
 * message id, and a queue group is a durable consumer that each message is acknowledged on only
 * after its handler took it, so what arrives while no member is connected waits in the stream.
 * Without JetStream (or when a stream cannot be made) plain subjects and queue groups are used.
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

  let manager: Promise<JetStreamManager | null> | null = null;
  const jetStreamManager = () => {
    manager ??= connection.jetstreamManager({ timeout: 2_000 }).then(
      async (jsm) => ((await jsm.getAccountInfo().then(() => true, () => false)) ? jsm : null),
      () => null,
    );
    // Without JetStream (or while the server is away) the next call asks again.
    void manager.then((jsm) => jsm === null && (manager = null));
    return manager;
  };
  const streams = new Map<string, Promise<string | null>>();
  /**
   * Publishing only uses a stream someone set up; a queue group gets one made for its subject.
   * Looked up once per subject, not per message: a miss is asked again after a while.
   */
  const publishStreams = new Map<string, { stream: string | null; until: number }>();
  const existingStreamFor = async (subject: string) => {
    const known = publishStreams.get(subject);
    if (known && known.until > Date.now()) return known.stream;
    const jsm = await jetStreamManager();
    const stream = jsm ? await jsm.streams.find(subject).catch(() => null) : null;
    publishStreams.set(subject, { stream, until: stream ? Number.POSITIVE_INFINITY : Date.now() + STREAM_LOOKUP_RETRY_MS });
    return stream;
  };
  const streamFor = (subject: string) => {
    let found = streams.get(subject);
    if (!found) {
      found = (async () => {
        const existing = await existingStreamFor(subject);
        if (existing) return existing;
        const jsm = await jetStreamManager();
        if (!jsm) return null;
        const name = jetStreamNameFor(subject);
        // Another stream may already capture an overlapping subject: then plain NATS it is.
        return jsm.streams.add({ name, subjects: [subject], storage: StorageType.File, duplicate_window: 2 * 60 * NANOS_PER_SECOND, max_age: 7 * 24 * 3600 * NANOS_PER_SECOND }).then(
          () => {
            // Publishing to the subject goes through the new stream from now on, not after the miss expires.
            publishStreams.set(subject, { stream: name, until: Number.POSITIVE_INFINITY });
            return name;
          },
          () => null,
        );
      })();
      found.then((name) => name === null && streams.delete(subject)).catch(() => streams.delete(subject));
      streams.set(subject, found);
    }
    return found;
  };

  return {
    kind: "nats",
    async publish(address, payload, publishOptions) {
      const messageHeaders = natsHeaders();
      if (publishOptions?.messageId) messageHeaders.set(MESSAGE_ID_HEADER, publishOptions.messageId);
      const data = encoder.encode(JSON.stringify(payload));
      if (await existingStreamFor(address)) {
        // Resolves once the stream has stored it; a repeated message id within the window is stored once.
        await connection
          .jetstream()
          .publish(address, data, { headers: messageHeaders, ...(publishOptions?.messageId ? { msgID: publishOptions.messageId } : {}) })
          .catch((error: unknown) => {
            // The stream may be gone: look again on the outbox's next try.
            publishStreams.delete(address);
            throw error;
          });
        return;
      }
      connection.publish(address, data, { headers: messageHeaders });
      // Publishing is buffered by the client; flushing makes "published" mean "reached the server".
      await connection.flush();
    },
    async subscribe(address, onMessage, subscribeOptions) {
      const group = subscribeOptions?.group;
      const stream = group ? await streamFor(address) : null;
      if (group && stream) {
        const jsm = (await jetStreamManager())!;
        const durable = durableNameFor(group);
        await jsm.consumers.add(stream, {
          durable_name: durable,
          ack_policy: AckPolicy.Explicit,
          deliver_policy: DeliverPolicy.New,
          filter_subject: address,
          ack_wait: 30 * NANOS_PER_SECOND,
          // A group nobody has served for a week (a deleted board's) is cleaned up by the server.
          inactive_threshold: 7 * 24 * 3600 * NANOS_PER_SECOND,
        }).catch(async (error: unknown) => {
          // Made earlier with other settings: join it as it is.
          await jsm.consumers.info(stream, durable).catch(() => Promise.reject(error));
        });
        const consumer = await connection.jetstream().consumers.get(stream, durable);
        const messages = await consumer.consume({ max_messages: subscribeOptions?.batchSize ?? 16 });
        void (async () => {
          for await (const message of messages) {
            const payload = decodePayload(message.subject, decoder.decode(message.data));
            const messageId = message.headers?.get(MESSAGE_ID_HEADER) || messageIdOf(payload);
            try {
              await onMessage({ address: message.subject, payload, messageId: messageId || undefined, receivedAt: new Date() });
              message.ack();
            } catch {
              // Not taken (storage trouble): the stream offers it again a little later.
              message.nak(1_000);
            }
          }
        })().catch(() => {});
        return async () => {
          await messages.close().catch(() => {});
        };
      }
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
