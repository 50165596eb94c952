import { isTrackedEnvelope, TRPCError } from "@trpc/server";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { GET as trpcGet } from "@/app/api/trpc/[trpc]/route.ts";
import { createCaller } from "@/server/api/root.ts";
import { createTRPCContext } from "@/server/api/trpc.ts";
import { setProcessStorage } from "@/server/db/process-storage.ts";
import { openTestStorage, testStorageKinds, type TestStorage } from "@/server/db/testing.ts";
import type { EventStore } from "@/server/eventstore/index.ts";
import type { CloudEvent } from "@/server/live/cloudevent.ts";
import { closeLiveHub, getLiveHub, processEventStore } from "@/server/live/process-hub.ts";
import { SseParser, type SseMessage } from "@/server/live/sse.ts";

/** A subscription's generator runs when iterated: its input errors surface on the first next(). */
async function rejection(subscription: Promise<AsyncIterable<unknown>>): Promise<TRPCError> {
  const error = await subscription
    .then((iterable) => iterable[Symbol.asyncIterator]().next())
    .then(
      () => undefined,
      (thrown: unknown) => thrown,
    );
  expect(error).toBeInstanceOf(TRPCError);
  return error as TRPCError;
}

/** Takes `count` tracked events from the subscription, then leaves it (as a client that disconnects). */
async function take(iterable: AsyncIterable<unknown>, count: number): Promise<{ id: string; event: CloudEvent }[]> {
  const taken: { id: string; event: CloudEvent }[] = [];
  if (count === 0) return taken;
  for await (const value of iterable) {
    if (!isTrackedEnvelope(value)) throw new Error(`untracked value ${JSON.stringify(value)}`);
    taken.push({ id: value[0], event: value[1] as CloudEvent });
    if (taken.length === count) break;
  }
  return taken;
}

describe.each(testStorageKinds)("live router on %s", (kind) => {
  let storage: TestStorage;
  let store: EventStore;
  let caller: ReturnType<typeof createCaller>;

  beforeEach(async () => {
    storage = await openTestStorage(kind);
    setProcessStorage(storage);
    store = processEventStore(storage);
    caller = createCaller(createTRPCContext({ headers: new Headers(), storage }));
  });

  afterEach(async () => {
    await closeLiveHub(storage);
    setProcessStorage(undefined);
    await storage.dispose();
  });

  it("yields tracked CloudEvents and resumes after lastEventId with no gap and no duplicate", async () => {
    for (let i = 1; i <= 6; i += 1) await store.append(`Quote-${i % 2}`, [{ type: "LineAdded", data: { i }, metadata: { context: "Underwriting" } }]);
    const first = await take(await caller.live.onEvents({ stream: "context-Underwriting", lastEventId: "0" }), 4);
    expect(first.map((item) => (item.event.data as { i: number }).i)).toEqual([1, 2, 3, 4]);
    expect(first.every((item) => item.id === String(item.event.position))).toBe(true);

    const resumed = await caller.live.onEvents({ stream: "context-Underwriting", lastEventId: first.at(-1)!.id });
    const appending = (async () => {
      for (let i = 7; i <= 9; i += 1) await store.append("Quote-1", [{ type: "LineAdded", data: { i }, metadata: { context: "Underwriting" } }]);
    })();
    const rest = await take(resumed, 5);
    await appending;
    expect(rest.map((item) => (item.event.data as { i: number }).i)).toEqual([5, 6, 7, 8, 9]);
    expect(rest[0]!.event).toMatchObject({ specversion: "1.0", type: "LineAdded", source: "/sagaboard/Underwriting" });
    expect(getLiveHub(storage).stats().subscriptions).toBe(0);
  });

  it("refuses an unknown stream and a malformed or unknown lastEventId", async () => {
    await store.append("S", [{ type: "E", data: {} }]);
    expect((await rejection(caller.live.onEvents({ stream: "nowhere" }))).code).toBe("NOT_FOUND");
    expect((await rejection(caller.live.onEvents({ stream: "all", lastEventId: "x1" }))).code).toBe("BAD_REQUEST");
    expect((await rejection(caller.live.onEvents({ stream: "all", lastEventId: "424242" }))).code).toBe("BAD_REQUEST");
  });

  it("over HTTP, a reconnect with Last-Event-ID (what httpSubscriptionLink does) continues right after it", async () => {
    for (let i = 1; i <= 5; i += 1) await store.append("S", [{ type: "Counted", data: { i } }]);
    const { events } = await store.readLog();
    const input = encodeURIComponent(JSON.stringify({ json: { stream: "all" } }));
    const abort = new AbortController();
    const response = await trpcGet(
      new Request(`http://sagaboard.test/api/trpc/live.onEvents?input=${input}`, {
        headers: { Accept: "text/event-stream", "Last-Event-ID": String(events[1]!.position) },
        signal: abort.signal,
      }),
    );
    expect(response.headers.get("Content-Type")).toMatch(/^text\/event-stream/);
    const reader = response.body!.getReader();
    const parser = new SseParser();
    const decoder = new TextDecoder();
    const messages: SseMessage[] = [];
    const dataEvents = () => messages.filter((m): m is Extract<SseMessage, { kind: "event" }> => m.kind === "event" && m.id !== undefined && m.id !== "");
    while (dataEvents().length < 3) {
      const chunk = await reader.read();
      if (chunk.done) throw new Error("the subscription ended early");
      messages.push(...parser.push(decoder.decode(chunk.value, { stream: true })));
    }
    abort.abort();
    await reader.cancel();
    expect(dataEvents().map((m) => m.id)).toEqual(events.slice(2).map((e) => String(e.position)));
    const payload = JSON.parse(dataEvents()[0]!.data) as { json: CloudEvent };
    expect(payload.json).toMatchObject({ type: "Counted", data: { i: 3 } });
  });
});
