import { randomUUID } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import type { ExternalBus, InboundMessage } from "./bus.ts";
import { createNatsBus } from "./nats.ts";
import { createRedisBus } from "./redis.ts";

// The machine's own brokers (CI runs on the same machine).
const REDIS_URL = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";
const NATS_URL = process.env.TEST_NATS_URL ?? "127.0.0.1:4222";

const open: ExternalBus[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((bus) => bus.close()));
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

describe("NATS bus", () => {
  it("matches wildcards and gives each message to one member of a queue group", async () => {
    const bus = await createNatsBus({ servers: NATS_URL });
    open.push(bus);
    const root = `sagaboard.test.${randomUUID().slice(0, 8)}`;
    const wildcard = collect();
    const memberA = collect();
    const memberB = collect();
    await bus.subscribe(`${root}.>`, wildcard.handler);
    await bus.subscribe(`${root}.orders.*`, memberA.handler, { group: "g" });
    await bus.subscribe(`${root}.orders.*`, memberB.handler, { group: "g" });
    for (let i = 0; i < 30; i++) await bus.publish(`${root}.orders.created`, { n: i }, { messageId: `id-${i}` });
    expect(await wildcard.waitFor(30)).toHaveLength(30);
    await new Promise((r) => setTimeout(r, 100));
    expect(memberA.received.length + memberB.received.length).toBe(30);
    expect(wildcard.received[0]).toMatchObject({ address: `${root}.orders.created`, messageId: "id-0", payload: { n: 0 } });
  });
});
