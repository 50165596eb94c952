import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { afterEach, describe, expect, it } from "vitest";
import type { ExternalBus, InboundMessage } from "./bus.ts";
import { connect } from "nats";
import { createNatsBus, jetStreamNameFor } from "./nats.ts";
import { createRedisBus } from "./redis.ts";

// The machine's own brokers (CI runs on the same machine).
const REDIS_URL = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";
const NATS_URL = process.env.TEST_NATS_URL ?? "127.0.0.1:4222";

const open: ExternalBus[] = [];
const madeStreams: string[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((bus) => bus.close()));
  if (madeStreams.length === 0) return;
  const admin = await connect({ servers: NATS_URL });
  const jsm = await admin.jetstreamManager();
  for (const subject of madeStreams.splice(0)) await jsm.streams.delete(jetStreamNameFor(subject)).catch(() => false);
  await admin.close();
});

function collect() {
  const received: InboundMessage[] = [];
  const waitFor = async (count: number, timeoutMs = 5000) => {
    const deadline = Date.now() + timeoutMs;
    while (received.length < count && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    return received;
  };
  return { received, handler: (message: InboundMessage) => void received.push(message), waitFor };
}

describe("Redis bus", () => {
  it("delivers pub/sub messages, including to pattern subscribers, as decoded JSON", async () => {
    const bus = createRedisBus({ url: REDIS_URL });
    open.push(bus);
    const channel = `change_batch_quantity.${randomUUID()}`;
    const exact = collect();
    const pattern = collect();
    await bus.subscribe(channel, exact.handler);
    await bus.subscribe(`${channel.split(".")[0]}.*`, pattern.handler);
    await bus.publish(channel, { batchref: "b1", qty: 5 });
    expect((await exact.waitFor(1)).map((m) => m.payload)).toEqual([{ batchref: "b1", qty: 5 }]);
    expect((await pattern.waitFor(1))[0]).toMatchObject({ address: channel, payload: { batchref: "b1", qty: 5 } });
    expect(bus.status().state).toBe("connected");
  });

  it("shares a stream among a consumer group: each entry handled by one member, ids kept", async () => {
    const stream = `sagaboard-test-${randomUUID()}`;
    const a = createRedisBus({ url: REDIS_URL, mode: "stream", consumerName: "a" });
    const b = createRedisBus({ url: REDIS_URL, mode: "stream", consumerName: "b" });
    open.push(a, b);
    const seen = collect();
    await a.subscribe(stream, seen.handler, { group: "workers" });
    await b.subscribe(stream, seen.handler, { group: "workers" });
    for (let i = 0; i < 20; i++) await a.publish(stream, { id: `m${i}`, n: i });
    const received = await seen.waitFor(20);
    expect(received.map((m) => m.messageId).sort()).toEqual(Array.from({ length: 20 }, (_, i) => `m${i}`).sort());
    await new Promise((r) => setTimeout(r, 200));
    expect(seen.received).toHaveLength(20);
  });
});

describe("Redis stream as a work queue", () => {
  it("reads batchSize entries at a time and acknowledges each only once it is handled", async () => {
    const stream = `sagaboard-queue-${randomUUID()}`;
    const admin = new Redis(REDIS_URL);
    try {
      // The group exists before the backlog is written, so the worker finds twelve entries waiting.
      await admin.xgroup("CREATE", stream, "workers", "0", "MKSTREAM");
      for (let i = 0; i < 12; i++) await admin.xadd(stream, "*", "data", JSON.stringify({ id: `q${i}`, name: "restock", payload: { n: i } }));
      const pending = async () => ((await admin.xpending(stream, "workers")) as [number, ...unknown[]])[0];

      const bus = createRedisBus({ url: REDIS_URL, mode: "stream", consumerName: "worker-1" });
      open.push(bus);
      let release!: () => void;
      const held = new Promise<void>((resolve) => (release = resolve));
      const handled: string[] = [];
      const firstTaken = new Promise<void>((resolve) => {
        void bus.subscribe(
          stream,
          async (message) => {
            if (handled.length === 0) {
              resolve();
              await held;
            }
            handled.push(message.messageId ?? "");
          },
          { group: "workers", batchSize: 3, pollIntervalMs: 50 },
        );
      });
      await firstTaken;
      // One batch of three is out and unacknowledged; the other nine are still in the queue.
      expect(await pending()).toBe(3);
      release();
      const deadline = Date.now() + 10_000;
      while (handled.length < 12 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(handled).toEqual(Array.from({ length: 12 }, (_, i) => `q${i}`));
      while ((await pending()) > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(await pending()).toBe(0);
    } finally {
      await admin.del(stream);
      admin.disconnect();
    }
  });
});

describe("NATS bus", () => {
  it("keeps what arrives for a queue group while no member is connected, once per message id (JetStream)", async () => {
    const subject = `sagaboard.test.${randomUUID().slice(0, 8)}.queue`;
    madeStreams.push(subject);
    const bus = await createNatsBus({ servers: NATS_URL });
    open.push(bus);
    const before = collect();
    const leave = await bus.subscribe(subject, before.handler, { group: "workers" });
    await bus.publish(subject, { n: 1 }, { messageId: "k1" });
    expect((await before.waitFor(1)).map((m) => m.payload)).toEqual([{ n: 1 }]);
    await leave();

    // Nobody in the group is listening now: the stream keeps the message, and the repeat is dropped.
    await bus.publish(subject, { n: 2 }, { messageId: "k2" });
    await bus.publish(subject, { n: 2 }, { messageId: "k2" });
    const after = collect();
    await bus.subscribe(subject, after.handler, { group: "workers" });
    expect((await after.waitFor(1)).map((m) => [m.messageId, m.payload])).toEqual([["k2", { n: 2 }]]);
    await new Promise((r) => setTimeout(r, 300));
    expect(after.received).toHaveLength(1);
  });

  it("matches wildcards and gives each message to one member of a queue group", async () => {
    const bus = await createNatsBus({ servers: NATS_URL });
    open.push(bus);
    const root = `sagaboard.test.${randomUUID().slice(0, 8)}`;
    const wildcard = collect();
    const memberA = collect();
    const memberB = collect();
    await bus.subscribe(`${root}.>`, wildcard.handler);
    madeStreams.push(`${root}.orders.*`);
    await bus.subscribe(`${root}.orders.*`, memberA.handler, { group: "g" });
    await bus.subscribe(`${root}.orders.*`, memberB.handler, { group: "g" });
    for (let i = 0; i < 30; i++) await bus.publish(`${root}.orders.created`, { n: i }, { messageId: `id-${i}` });
    expect(await wildcard.waitFor(30)).toHaveLength(30);
    await new Promise((r) => setTimeout(r, 100));
    expect(memberA.received.length + memberB.received.length).toBe(30);
    expect(wildcard.received[0]).toMatchObject({ address: `${root}.orders.created`, messageId: "id-0", payload: { n: 0 } });
  });
});
