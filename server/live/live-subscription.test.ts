import { describe, expect, it } from "vitest";
import type { RecordedEvent } from "../eventstore/index.ts";
import { toLiveEvent } from "./hub.ts";
import { LiveSubscription, type LiveEvent, type SubscriptionEnd, type SubscriptionItem } from "./live-subscription.ts";

function liveEvent(position: number, xid = BigInt(position), bytes = 0): LiveEvent {
  const event: RecordedEvent = {
    position,
    streamId: "Quote-1",
    streamVersion: position,
    type: "QuoteLineAdded",
    data: { padding: "x".repeat(bytes) },
    metadata: { messageId: `m-${position}`, recordedAt: "2026-11-23T10:00:00.000Z" },
  };
  return toLiveEvent(event, { xid, position });
}

function open(options: { after?: number | null; maxBufferedBytes?: number } = {}) {
  const ended: SubscriptionEnd[] = [];
  const after = options.after ?? null;
  const subscription = new LiveSubscription({
    id: "s-1",
    name: "all",
    selector: { kind: "all" },
    after: after === null ? null : { xid: BigInt(after), position: after },
    maxBufferedBytes: options.maxBufferedBytes ?? 1024 * 1024,
    onEnd: (subscription) => ended.push(subscription.ended!),
  });
  return { subscription, ended };
}

/** Takes everything queued; the queue is checked empty first so no next() call is left waiting. */
async function takeQueued(subscription: LiveSubscription): Promise<SubscriptionItem[]> {
  const items: SubscriptionItem[] = [];
  while (subscription.queuedBytes > 0 || (subscription.ended && items.at(-1)?.kind !== "end")) items.push(await subscription.next());
  return items;
}

const positions = (items: SubscriptionItem[]) => items.flatMap((item) => (item.kind === "event" ? [item.event.key.position] : []));

describe("a live subscription", () => {
  it("holds live events aside during catch-up and keeps only those after the caught-up ones", async () => {
    const { subscription } = open({ after: 2 });
    subscription.offer([liveEvent(4)]);
    subscription.offer([liveEvent(5)]);
    subscription.pushCaughtUp([liveEvent(3)]);
    subscription.pushCaughtUp([liveEvent(4)]);
    subscription.offer([liveEvent(6)]);
    expect(positions(await takeQueued(subscription))).toEqual([3, 4]);
    subscription.goLive();
    subscription.offer([liveEvent(6)]);
    subscription.offer([liveEvent(7)]);
    expect(positions(await takeQueued(subscription))).toEqual([5, 6, 7]);
  });

  it("orders by log key, not by position: a lower position committed later still counts as new", async () => {
    const { subscription } = open({ after: null });
    subscription.goLive();
    subscription.offer([liveEvent(10, 100n)]);
    subscription.offer([liveEvent(9, 101n)]);
    subscription.offer([liveEvent(10, 100n)]);
    expect(positions(await takeQueued(subscription))).toEqual([10, 9]);
  });

  it("drops what the client already has when it resumed ahead of the live feed", async () => {
    const { subscription } = open({ after: 8 });
    subscription.goLive();
    for (const position of [6, 7, 8, 9]) subscription.offer([liveEvent(position)]);
    expect(positions(await takeQueued(subscription))).toEqual([9]);
  });

  it("ends with overflow when a live client falls behind by more than the buffer, and frees it", async () => {
    const one = liveEvent(1, 1n, 1000).frame.byteLength;
    const { subscription, ended } = open({ after: null, maxBufferedBytes: one * 3 + 10 });
    subscription.goLive();
    for (let position = 1; position <= 3; position += 1) subscription.offer([liveEvent(position, BigInt(position), 1000)]);
    expect(subscription.ended).toBeUndefined();
    expect(subscription.bufferedBytes).toBe(one * 3);
    subscription.offer([liveEvent(4, 4n, 1000)]);
    expect(ended).toEqual([{ reason: "overflow", bufferedBytes: one * 3, limitBytes: one * 3 + 10 }]);
    expect(subscription.bufferedBytes).toBe(0);
    expect(await subscription.next()).toEqual({ kind: "end", end: ended[0] });
    subscription.offer([liveEvent(5)]);
    expect(subscription.bufferedBytes).toBe(0);
  });

  it("accepts one event larger than the whole buffer when the client has nothing queued", async () => {
    const { subscription } = open({ after: null, maxBufferedBytes: 100 });
    subscription.goLive();
    subscription.offer([liveEvent(1, 1n, 500)]);
    expect(subscription.ended).toBeUndefined();
    expect(positions(await takeQueued(subscription))).toEqual([1]);
  });

  it("counts live events held aside during a long catch-up against the buffer", () => {
    const { subscription, ended } = open({ after: 0, maxBufferedBytes: 2000 });
    for (let position = 1; position <= 3; position += 1) subscription.offer([liveEvent(position, BigInt(position), 800)]);
    expect(ended.map((end) => end.reason)).toEqual(["overflow"]);
  });

  it("makes the catch-up wait until the client has read enough", async () => {
    const { subscription } = open({ after: 0 });
    for (let position = 1; position <= 4; position += 1) subscription.pushCaughtUp([liveEvent(position, BigInt(position), 100)]);
    const frame = liveEvent(1, 1n, 100).frame.byteLength;
    let drained = false;
    const waiting = subscription.drained(frame * 2).then(() => (drained = true));
    await subscription.next();
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(drained).toBe(false);
    await subscription.next();
    await waiting;
    expect(drained).toBe(true);
  });

  it("sends a heartbeat only when it has nothing else to send", async () => {
    const { subscription } = open({ after: null });
    subscription.goLive();
    subscription.offer([liveEvent(1)]);
    subscription.heartbeat();
    expect((await subscription.next()).kind).toBe("event");
    subscription.heartbeat();
    expect(await subscription.next()).toEqual({ kind: "heartbeat" });
    const waiting = subscription.next();
    subscription.heartbeat();
    expect(await waiting).toEqual({ kind: "heartbeat" });
  });

  it("wakes a synchronous consumer once per offered batch, which takes the whole batch", () => {
    const { subscription } = open({ after: null });
    subscription.goLive();
    const taken: number[][] = [];
    subscription.onReadable(() => {
      const batch: number[] = [];
      for (let event = subscription.poll(); event; event = subscription.poll()) batch.push(event.key.position);
      taken.push(batch);
    });
    subscription.offer([liveEvent(1), liveEvent(2), liveEvent(3)]);
    subscription.offer([liveEvent(3), liveEvent(4)]);
    expect(taken).toEqual([[1, 2, 3], [4]]);
  });

  it("wakes a waiting consumer when it is closed, and reports the end once to its owner", async () => {
    const { subscription, ended } = open({ after: null });
    subscription.goLive();
    const waiting = subscription.next();
    subscription.close({ reason: "deleted" });
    subscription.close({ reason: "client" });
    expect(await waiting).toEqual({ kind: "end", end: { reason: "deleted" } });
    expect(ended).toEqual([{ reason: "deleted" }]);
  });
});
