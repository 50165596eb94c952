/**
 * The stream routes called as Next calls them: real Requests, the process storage set to a
 * test store, and responses read as a client would.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { DELETE as deleteStream, GET as getStream } from "@/app/api/streams/[name]/route.ts";
import { GET as getPage } from "@/app/api/streams/[name]/[range]/route.ts";
import { DELETE as deleteSubscriptionRoute } from "@/app/api/streams/[name]/subscriptions/[id]/route.ts";
import { setProcessStorage } from "../db/process-storage.ts";
import { openTestStorage, testStorageKinds, type TestStorage } from "../db/testing.ts";
import { createEventStore, type EventStore, type NewEvent } from "../eventstore/index.ts";
import type { CloudEvent } from "./cloudevent.ts";
import { parseLinkHeader } from "./paging.ts";
import { closeLiveHub, getLiveHub, processEventStore } from "./process-hub.ts";
import { SseParser, type SseMessage } from "./sse.ts";
import { streamPath } from "./stream-name.ts";

const BASE = "http://sagaboard.test";

function pageRequest(name: string, range: string, headers: Record<string, string> = {}): Promise<Response> {
  return getPage(new Request(`${BASE}${streamPath(name, range)}`, { headers }), { params: Promise.resolve({ name, range }) });
}

function streamRequest(name: string, options: { headers?: Record<string, string>; query?: string; signal?: AbortSignal } = {}): Promise<Response> {
  const request = new Request(`${BASE}${streamPath(name)}${options.query ?? ""}`, {
    headers: { Accept: "text/event-stream", ...options.headers },
    signal: options.signal,
  });
  return getStream(request, { params: Promise.resolve({ name }) });
}

function deleteRequest(name: string, query: string): Promise<Response> {
  return deleteStream(new Request(`${BASE}${streamPath(name)}${query}`, { method: "DELETE" }), { params: Promise.resolve({ name }) });
}

/** A client connection: reads SSE messages as they arrive, and can be cut at any moment. */
class SseClient {
  readonly messages: SseMessage[] = [];
  readonly subscriptionId: string | null;
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>;
  private readonly parser = new SseParser();
  private readonly decoder = new TextDecoder();
  private closed = false;

  constructor(
    readonly response: Response,
    private readonly abort: AbortController,
  ) {
    this.subscriptionId = response.headers.get("Sagaboard-Subscription-Id");
    this.reader = response.body!.getReader();
  }

  static async open(name: string, options: { lastEventId?: string; query?: string } = {}): Promise<SseClient> {
    const abort = new AbortController();
    const response = await streamRequest(name, {
      headers: options.lastEventId === undefined ? {} : { "Last-Event-ID": options.lastEventId },
      query: options.query,
      signal: abort.signal,
    });
    expect(response.status).toBe(200);
    return new SseClient(response, abort);
  }

  get events(): Extract<SseMessage, { kind: "event" }>[] {
    return this.messages.filter((message): message is Extract<SseMessage, { kind: "event" }> => message.kind === "event");
  }

  get dataEvents(): { id: string; event: string; cloudEvent: CloudEvent }[] {
    return this.events
      .filter((message) => message.id !== undefined)
      .map((message) => ({ id: message.id!, event: message.event, cloudEvent: JSON.parse(message.data) as CloudEvent }));
  }

  /** Reads until `done` holds for what has arrived, or the stream ends. */
  async readUntil(done: (client: SseClient) => boolean, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!done(this)) {
      if (this.closed) throw new Error("the stream ended first");
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new Error(`timed out after ${timeoutMs} ms with ${this.messages.length} messages`);
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<"timeout">((resolve) => (timer = setTimeout(() => resolve("timeout"), remaining)));
      const chunk = await Promise.race([this.reader.read(), timeout]);
      clearTimeout(timer);
      if (chunk === "timeout") continue;
      if (chunk.done) {
        this.closed = true;
        continue;
      }
      this.messages.push(...this.parser.push(this.decoder.decode(chunk.value, { stream: true })));
    }
  }

  async readToEnd(timeoutMs = 10_000): Promise<void> {
    await this.readUntil(() => this.closed, timeoutMs).catch((error: Error) => {
      if (!this.closed) throw error;
    });
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** What a browser does when the network drops: the request is aborted and the body abandoned. */
  async cut(): Promise<void> {
    this.abort.abort();
    await this.reader.cancel().catch(() => {});
    this.closed = true;
  }
}

function event(type: string, data: unknown, metadata: NewEvent["metadata"] = {}): NewEvent {
  return { type, data, metadata };
}

async function waitFor(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > timeoutMs) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe.each(testStorageKinds)("the event stream API on %s", (kind) => {
  let storage: TestStorage;
  let store: EventStore;

  beforeEach(async () => {
    storage = await openTestStorage(kind);
    setProcessStorage(storage);
    store = processEventStore(storage);
  });

  /** A fresh hub with other settings (and a fresh process store, which closing the hub closed). */
  async function reopenHub(options: Parameters<typeof getLiveHub>[1]) {
    await closeLiveHub(storage);
    const hub = getLiveHub(storage, options);
    store = processEventStore(storage);
    return hub;
  }

  afterEach(async () => {
    await closeLiveHub(storage);
    setProcessStorage(undefined);
    await storage.dispose();
  });

  /** 45 events: Quote-1 gets every third (15), context Risk every other (23), instance run-1 the first 25. */
  async function appendMixedLog(): Promise<void> {
    for (let i = 1; i <= 45; i += 1) {
      const streamId = i % 3 === 0 ? "Quote-1" : `Application-${i}`;
      await store.append(streamId, [
        event(`Happened${i}`, { i }, {
          messageId: `message-${i}`,
          context: i % 2 === 1 ? "Risk" : "Rate",
          correlationId: i <= 25 ? "run-1" : "run-2",
          definitionId: "premium",
          definitionVersion: 1,
        }),
      ]);
    }
  }

  describe("pages", () => {
    it("serves full pages as immutable with Link headers, the newest as revalidated", async () => {
      await appendMixedLog();
      const first = await pageRequest("all", "1-20");
      expect(first.status).toBe(200);
      expect(first.headers.get("Content-Type")).toBe("application/json");
      expect(first.headers.get("Cache-Control")).toBe("public, max-age=31536000, immutable");
      expect(first.headers.get("ETag")).toMatch(/^"[A-Za-z0-9_-]{43}"$/);
      expect(Object.fromEntries(parseLinkHeader(first.headers.get("Link")!))).toEqual({
        first: "/api/streams/all/1-20",
        next: "/api/streams/all/21-40",
        current: "/api/streams/all/current",
      });
      const body = (await first.json()) as { stream: string; from: number; to: number; events: CloudEvent[] };
      expect(body).toMatchObject({ stream: "all", from: 1, to: 20 });
      expect(body.events.map((e) => e.type)).toEqual(Array.from({ length: 20 }, (_, i) => `Happened${i + 1}`));
      expect(body.events[0]).toMatchObject({ specversion: "1.0", id: "message-1", source: "/sagaboard/Risk", datacontenttype: "application/json", data: { i: 1 }, correlationid: "run-1" });

      const second = await pageRequest("all", "21-40");
      expect(Object.fromEntries(parseLinkHeader(second.headers.get("Link")!))).toEqual({
        first: "/api/streams/all/1-20",
        prev: "/api/streams/all/1-20",
        next: "/api/streams/all/41-60",
        current: "/api/streams/all/current",
      });

      const newest = await pageRequest("all", "41-60");
      expect(newest.headers.get("Cache-Control")).toBe("no-cache");
      expect(newest.headers.get("ETag")).toMatch(/^"/);
      expect(parseLinkHeader(newest.headers.get("Link")!).has("next")).toBe(false);
      const newestBody = await newest.text();
      expect((JSON.parse(newestBody) as { events: unknown[] }).events).toHaveLength(5);

      const current = await pageRequest("all", "current");
      expect(current.status).toBe(200);
      expect(current.headers.get("Cache-Control")).toBe("no-cache");
      expect(current.headers.get("Content-Location")).toBe("/api/streams/all/41-60");
      expect(current.headers.get("ETag")).toBe(newest.headers.get("ETag"));
      expect(await current.text()).toBe(newestBody);
    });

    it("numbers filtered streams by their own sequence", async () => {
      await appendMixedLog();
      const risk = (await (await pageRequest("context-Risk", "21-40")).json()) as { events: CloudEvent[] };
      expect(risk.events.map((e) => (e.data as { i: number }).i)).toEqual([41, 43, 45]);
      const quote = await pageRequest("stream-Quote-1", "1-20");
      const quoteEvents = ((await quote.json()) as { events: CloudEvent[] }).events;
      expect(quoteEvents.map((e) => e.streamversion)).toEqual(Array.from({ length: 15 }, (_, i) => i + 1));
      expect(quote.headers.get("Cache-Control")).toBe("no-cache");
      const run = (await (await pageRequest("instance-run-1", "21-40")).json()) as { events: CloudEvent[] };
      expect(run.events.map((e) => (e.data as { i: number }).i)).toEqual([21, 22, 23, 24, 25]);
      const definition = await pageRequest("definition-premium", "21-40");
      expect(definition.headers.get("Cache-Control")).toBe("public, max-age=31536000, immutable");
      const current = await pageRequest("definition-premium", "current");
      expect(current.headers.get("Content-Location")).toBe("/api/streams/definition-premium/41-60");
    });

    it("keeps full pages byte for byte as events are appended, while the newest page changes", async () => {
      await appendMixedLog();
      const before = await pageRequest("context-Rate", "1-20");
      const beforeBody = await before.text();
      const partialBefore = await pageRequest("context-Rate", "21-40");
      await store.append("Late", [event("Late", {}, { context: "Rate" })]);
      const after = await pageRequest("context-Rate", "1-20");
      expect(await after.text()).toBe(beforeBody);
      expect(after.headers.get("ETag")).toBe(before.headers.get("ETag"));
      const partialAfter = await pageRequest("context-Rate", "21-40");
      expect(partialAfter.headers.get("ETag")).not.toBe(partialBefore.headers.get("ETag"));
      expect(((await partialAfter.json()) as { events: CloudEvent[] }).events.at(-1)?.type).toBe("Late");
    });

    it("answers If-None-Match with 304, keeping the caching headers", async () => {
      await appendMixedLog();
      const page = await pageRequest("all", "1-20");
      const etag = page.headers.get("ETag")!;
      for (const ifNoneMatch of [etag, `W/${etag}`, `"other", ${etag}`, "*"]) {
        const again = await pageRequest("all", "1-20", { "If-None-Match": ifNoneMatch });
        expect(again.status, ifNoneMatch).toBe(304);
        expect(await again.text()).toBe("");
        expect(again.headers.get("ETag")).toBe(etag);
        expect(again.headers.get("Cache-Control")).toBe("public, max-age=31536000, immutable");
        expect(again.headers.get("Link")).toBe(page.headers.get("Link"));
      }
      const partial = await pageRequest("all", "current");
      const revalidated = await pageRequest("all", "current", { "If-None-Match": partial.headers.get("ETag")! });
      expect(revalidated.status).toBe(304);
      expect((await pageRequest("all", "1-20", { "If-None-Match": '"stale"' })).status).toBe(200);
    });

    it("serves an empty log's first page and the empty page right after a full one", async () => {
      const empty = await pageRequest("all", "current");
      expect(empty.status).toBe(200);
      expect(await empty.json()).toEqual({ stream: "all", from: 1, to: 20, events: [] });
      for (let i = 0; i < 20; i += 1) await store.append("S", [event("E", { i })]);
      const next = await pageRequest("all", "21-40");
      expect(next.status).toBe(200);
      expect(((await next.json()) as { events: unknown[] }).events).toEqual([]);
      expect((await pageRequest("all", "current")).headers.get("Content-Location")).toBe("/api/streams/all/1-20");
    });

    it("refuses unknown streams with 404 and malformed ranges with 400, as JSON naming the problem", async () => {
      await appendMixedLog();
      const cases: [string, string, number, RegExp][] = [
        ["everything", "1-20", 404, /Unknown stream "everything"/],
        ["context-Nobody", "1-20", 404, /has no events/],
        ["stream-Missing", "current", 404, /has no events/],
        ["all", "81-100", 404, /beyond the end of all: it has 45 events, the newest page is 41-60/],
        ["all", "1-10", 400, /pages hold exactly 20/],
        ["all", "11-30", 400, /not aligned/],
        ["all", "first", 400, /Malformed range/],
      ];
      for (const [name, range, status, message] of cases) {
        const response = await pageRequest(name, range);
        expect(response.status, `${name}/${range}`).toBe(status);
        expect(response.headers.get("Cache-Control")).toBe("no-store");
        const body = (await response.json()) as { error: { status: number; message: string } };
        expect(body.error.status).toBe(status);
        expect(body.error.message).toMatch(message);
      }
    });

    it("describes a stream on a plain GET", async () => {
      await appendMixedLog();
      const response = await getStream(new Request(`${BASE}/api/streams/context-Risk`), { params: Promise.resolve({ name: "context-Risk" }) });
      expect(await response.json()).toEqual({
        stream: "context-Risk",
        events: 23,
        pageSize: 20,
        first: "/api/streams/context-Risk/1-20",
        current: "/api/streams/context-Risk/21-40",
      });
    });
  });

  describe("Server-Sent Events", () => {
    it("announces the subscription, then sends history after ?after= and live events as they commit", async () => {
      await store.append("Quote-1", [event("QuoteRequested", { n: 1 }, { context: "Underwriting" })]);
      const client = await SseClient.open("all", { query: "?after=0" });
      expect(client.response.headers.get("Content-Type")).toBe("text/event-stream");
      expect(client.response.headers.get("Cache-Control")).toBe("no-cache, no-transform");
      expect(client.response.headers.get("X-Accel-Buffering")).toBe("no");
      expect(client.subscriptionId).toMatch(/^[0-9a-f-]{36}$/);
      await client.readUntil((c) => c.dataEvents.length === 1);
      expect(client.messages.slice(0, 2)).toEqual([
        { kind: "retry", milliseconds: 2000 },
        { kind: "event", id: undefined, event: "subscription", data: JSON.stringify({ id: client.subscriptionId, stream: "all" }) },
      ]);
      const { positions } = await store.append("Quote-1", [event("QuoteGenerated", { n: 2 }, { context: "Underwriting" })]);
      await client.readUntil((c) => c.dataEvents.length === 2);
      const live = client.dataEvents[1]!;
      expect(live.id).toBe(String(positions[0]));
      expect(live.event).toBe("QuoteGenerated");
      expect(live.cloudEvent).toMatchObject({ type: "QuoteGenerated", position: positions[0], stream: "Quote-1", streamversion: 2, data: { n: 2 } });
      await client.cut();
    });

    it("starts live without a resume point, and resumes right after Last-Event-ID", async () => {
      for (let i = 1; i <= 5; i += 1) await store.append("S", [event("Before", { i })]);
      const live = await SseClient.open("all");
      await live.readUntil((c) => c.events.length === 1);
      await store.append("S", [event("After", { i: 6 })]);
      await live.readUntil((c) => c.dataEvents.length === 1);
      expect(live.dataEvents.map((e) => e.event)).toEqual(["After"]);
      await live.cut();

      const { events } = await store.readLog();
      const resumed = await SseClient.open("all", { lastEventId: String(events[2]!.position), query: "?after=0" });
      await resumed.readUntil((c) => c.dataEvents.length === 3);
      expect(resumed.dataEvents.map((e) => Number(e.id))).toEqual(events.slice(3).map((e) => e.position));
      await resumed.cut();
    });

    it("sends only the events of the stream subscribed to", async () => {
      const client = await SseClient.open("context-Risk", { query: "?after=0" });
      await store.append("A", [event("One", {}, { context: "Rate" })]);
      await store.append("B", [event("Two", {}, { context: "Risk" })]);
      await store.append("C", [event("Three", {}, { context: "Rate" })]);
      await store.append("D", [event("Four", {}, { context: "Risk" })]);
      await client.readUntil((c) => c.dataEvents.length === 2);
      expect(client.dataEvents.map((e) => e.event)).toEqual(["Two", "Four"]);
      await client.cut();
    });

    it("refuses a malformed or unknown Last-Event-ID with 400 and an unknown stream with 404", async () => {
      await store.append("S", [event("E", {})]);
      const malformed = await streamRequest("all", { headers: { "Last-Event-ID": "abc" } });
      expect(malformed.status).toBe(400);
      expect(((await malformed.json()) as { error: { message: string } }).error.message).toMatch(/Last-Event-ID must be an event position/);
      const unknown = await streamRequest("all", { headers: { "Last-Event-ID": "999999" } });
      expect(unknown.status).toBe(400);
      expect(((await unknown.json()) as { error: { message: string } }).error.message).toMatch(/999999 is not the position of an event/);
      expect((await streamRequest("all", { query: "?after=-3" })).status).toBe(400);
      expect((await streamRequest("nothing-here")).status).toBe(404);
      expect(getLiveHub(storage).stats().subscriptions).toBe(0);
    });

    it("sends heartbeat comments on an idle connection", async () => {
      await reopenHub({ heartbeatIntervalMs: 30 });
      const client = await SseClient.open("all");
      await client.readUntil((c) => c.messages.filter((m) => m.kind === "comment").length >= 2);
      expect(client.messages.find((m) => m.kind === "comment")).toEqual({ kind: "comment", text: "heartbeat" });
      await client.cut();
    });

    it("loses and repeats nothing when connections are cut at random points and resumed while events keep coming", async () => {
      const writers = [createEventStore(storage), store];
      const total = 300;
      let appended = 0;
      const writing = (async () => {
        // Several streams and, on PostgreSQL, concurrent transactions, so positions commit out of order.
        while (appended < total) {
          const batch = Array.from({ length: 3 }, (_, k) => appended + k).filter((n) => n < total);
          appended += batch.length;
          await Promise.all(
            batch.map((n) => writers[n % 2]!.append(`Stream-${n % 7}`, [event("Counted", { n }, { context: n % 2 === 0 ? "Even" : "Odd" })])),
          );
          await new Promise((resolve) => setTimeout(resolve, Math.random() * 4));
        }
      })();

      async function consume(name: string, expected: number): Promise<{ positions: number[]; connections: number }> {
        const received: number[] = [];
        let lastEventId: string | undefined;
        let connections = 0;
        while (received.length < expected) {
          connections += 1;
          const client = await SseClient.open(name, lastEventId === undefined ? { query: "?after=0" } : { lastEventId });
          const goal = received.length + 1 + Math.floor(Math.random() * 25);
          await client.readUntil((c) => received.length + c.dataEvents.length >= Math.min(goal, expected), 20_000);
          for (const data of client.dataEvents) received.push(data.cloudEvent.position);
          lastEventId = client.dataEvents.at(-1)?.id ?? lastEventId;
          await client.cut();
        }
        return { positions: received, connections };
      }

      const [all, even] = await Promise.all([consume("all", total), consume("context-Even", total / 2)]);
      await writing;
      await Promise.all(writers.map((writer) => (writer === store ? undefined : writer.close())));
      const log = await store.readLog({ limit: 1000 });
      expect(log.events).toHaveLength(total);
      expect(all.positions).toEqual(log.events.map((e) => e.position));
      expect(even.positions).toEqual(log.events.filter((e) => e.metadata.context === "Even").map((e) => e.position));
      expect(all.connections).toBeGreaterThan(10);
      expect(even.connections).toBeGreaterThan(5);
      await waitFor(() => getLiveHub(storage).stats().subscriptions === 0);
    });

    it("ends a client that falls too far behind instead of buffering without bound", async () => {
      const hub = await reopenHub({ maxBufferedBytes: 8 * 1024 });
      const abort = new AbortController();
      const response = await streamRequest("all", { signal: abort.signal });
      expect(hub.stats().subscriptions).toBe(1);
      for (let i = 0; i < 40; i += 1) await store.append("Big", [event("Bulky", { padding: "x".repeat(1000), i })]);
      await waitFor(() => hub.stats().subscriptions === 0);
      const client = new SseClient(response, abort);
      await client.readToEnd();
      const end = client.events.at(-1)!;
      expect(end.event).toBe("end");
      expect(JSON.parse(end.data)).toMatchObject({ reason: "overflow", limitBytes: 8 * 1024 });
      expect(client.dataEvents.length).toBeLessThan(40);
    });

    it("shares one reader of the log among all connections", async () => {
      const listen = vi.spyOn(store, "listenForCommits");
      const clients = await Promise.all(Array.from({ length: 30 }, (_, i) => SseClient.open(i % 2 === 0 ? "all" : `stream-S${i % 3}`)));
      await store.append("S1", [event("Fanned", {})]);
      await Promise.all(clients.filter((_, i) => i % 2 === 0 || i % 3 === 1).map((client) => client.readUntil((c) => c.dataEvents.length === 1)));
      expect(listen).toHaveBeenCalledTimes(1);
      expect(getLiveHub(storage).stats().subscriptions).toBe(30);
      await Promise.all(clients.map((client) => client.cut()));
      await waitFor(() => getLiveHub(storage).stats().subscriptions === 0);
    });
  });

  describe("ending a subscription", () => {
    it("DELETE ends the named subscription with 200, and answers 404 once it is gone", async () => {
      const client = await SseClient.open("context-Risk");
      const id = client.subscriptionId!;
      expect((await deleteRequest("context-Rate", `?subscription=${id}`)).status).toBe(404);
      const deleted = await deleteRequest("context-Risk", `?subscription=${id}`);
      expect(deleted.status).toBe(200);
      expect(await deleted.json()).toEqual({ stream: "context-Risk", subscription: id, ended: true });
      await client.readToEnd();
      expect(client.isClosed).toBe(true);
      expect(client.events.at(-1)).toMatchObject({ event: "end", data: JSON.stringify({ reason: "deleted" }) });
      const again = await deleteRequest("context-Risk", `?subscription=${id}`);
      expect(again.status).toBe(404);
      expect(((await again.json()) as { error: { message: string } }).error.message).toMatch(/No open subscription/);
    });

    it("DELETE …/subscriptions/{id} does the same; a DELETE without an id is 400", async () => {
      const client = await SseClient.open("all");
      const route = (id: string) =>
        deleteSubscriptionRoute(new Request(`${BASE}/api/streams/all/subscriptions/${id}`, { method: "DELETE" }), { params: Promise.resolve({ name: "all", id }) });
      expect((await route("not-a-subscription")).status).toBe(404);
      expect((await route(client.subscriptionId!)).status).toBe(200);
      await client.readToEnd();
      expect(client.isClosed).toBe(true);
      const missing = await deleteRequest("all", "");
      expect(missing.status).toBe(400);
      expect(((await missing.json()) as { error: { message: string } }).error.message).toMatch(/\?subscription=\{id\}/);
      expect((await deleteRequest("bogus", "?subscription=x")).status).toBe(404);
    });

    it("a client leaving frees its subscription", async () => {
      const client = await SseClient.open("all");
      expect(getLiveHub(storage).stats().subscriptions).toBe(1);
      await client.cut();
      await waitFor(() => getLiveHub(storage).stats().subscriptions === 0);
    });
  });
});
