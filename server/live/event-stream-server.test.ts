/**
 * The custom server's direct SSE path over real sockets: a plain Node http server routes
 * requests as server/main.ts does (after its request gate), so the bytes on the wire, chunked
 * framing included, are what a client reads.
 */
import http from "node:http";
import net from "node:net";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { setProcessStorage } from "../db/process-storage.ts";
import { openTestStorage, testStorageKinds, type TestStorage } from "../db/testing.ts";
import type { EventStore, NewEvent } from "../eventstore/index.ts";
import type { CloudEvent } from "./cloudevent.ts";
import { eventStreamRequest, serveEventStream } from "./event-stream-server.ts";
import { deleteSubscription } from "./http.ts";
import { closeLiveHub, getLiveHub, processEventStore } from "./process-hub.ts";
import { SseParser, type SseMessage } from "./sse.ts";
import { streamPath } from "./stream-name.ts";

async function waitFor(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > timeoutMs) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

function event(type: string, data: unknown, metadata: NewEvent["metadata"] = {}): NewEvent {
  return { type, data, metadata };
}

type DataEvent = { id: string; event: string; cloudEvent: CloudEvent };

/** One SSE connection over HTTP/1.1, parsed as it arrives. */
class Connection {
  readonly messages: SseMessage[] = [];
  ended = false;
  private readonly parser = new SseParser();

  private constructor(
    readonly response: http.IncomingMessage,
    private readonly request: http.ClientRequest,
  ) {}

  static open(port: number, path: string, headers: Record<string, string> = {}, options: { paused?: boolean } = {}): Promise<Connection> {
    return new Promise((resolve, reject) => {
      const request = http.get({ host: "127.0.0.1", port, path, agent: false, headers: { Accept: "text/event-stream", ...headers } }, (response) => {
        const connection = new Connection(response, request);
        response.setEncoding("utf8");
        response.on("end", () => (connection.ended = true));
        response.on("close", () => (connection.ended = true));
        // Paused before the data listener is attached, it stays paused until resume().
        if (options.paused) response.pause();
        response.on("data", (chunk: string) => connection.messages.push(...connection.parser.push(chunk)));
        resolve(connection);
      });
      request.on("error", reject);
    });
  }

  get status(): number {
    return this.response.statusCode!;
  }

  get subscriptionId(): string {
    return this.response.headers["sagaboard-subscription-id"] as string;
  }

  get events(): Extract<SseMessage, { kind: "event" }>[] {
    return this.messages.filter((message): message is Extract<SseMessage, { kind: "event" }> => message.kind === "event");
  }

  get dataEvents(): DataEvent[] {
    return this.events.filter((message) => message.id !== undefined).map((message) => ({ id: message.id!, event: message.event, cloudEvent: JSON.parse(message.data) as CloudEvent }));
  }

  resume(): void {
    this.response.resume();
  }

  close(): void {
    this.request.destroy();
  }
}

/** A non-SSE request's JSON answer. */
function getJson(port: number, path: string, headers: Record<string, string>): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: { error: { status: number; message: string } } }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: "127.0.0.1", port, path, agent: false, headers }, (response) => {
        let text = "";
        response.setEncoding("utf8");
        response.on("data", (chunk: string) => (text += chunk));
        response.on("end", () => resolve({ status: response.statusCode!, headers: response.headers, body: JSON.parse(text) }));
      })
      .on("error", reject);
  });
}

describe("which requests the direct SSE path takes", () => {
  const socket = {} as net.Socket;
  const sse = { accept: "text/event-stream" };

  it("takes GET /api/streams/{name} asking for text/event-stream, with the name decoded", () => {
    expect(eventStreamRequest({ method: "GET", url: "/api/streams/all", headers: sse }, { socket })).toBe("all");
    expect(eventStreamRequest({ method: "GET", url: "/api/streams/all?after=0", headers: { accept: "text/html, Text/Event-Stream" } }, { socket })).toBe("all");
    expect(eventStreamRequest({ method: "GET", url: streamPath("stream-Quote/7 ü"), headers: sse }, { socket })).toBe("stream-Quote/7 ü");
  });

  it("leaves everything else to Next", () => {
    expect(eventStreamRequest({ method: "GET", url: "/api/streams/all", headers: {} }, { socket })).toBeNull();
    expect(eventStreamRequest({ method: "GET", url: "/api/streams/all", headers: { accept: "application/json" } }, { socket })).toBeNull();
    expect(eventStreamRequest({ method: "DELETE", url: "/api/streams/all", headers: sse }, { socket })).toBeNull();
    expect(eventStreamRequest({ method: "GET", url: "/api/streams/all/1-20", headers: sse }, { socket })).toBeNull();
    expect(eventStreamRequest({ method: "GET", url: "/api/streams/all/", headers: sse }, { socket })).toBeNull();
    expect(eventStreamRequest({ method: "GET", url: "/api/streams/%E0%A4%A", headers: sse }, { socket })).toBeNull();
    expect(eventStreamRequest({ method: "GET", url: "/api/trpc/live.onEvents", headers: sse }, { socket })).toBeNull();
    // A pipelined request waiting for the one before it has no socket yet.
    expect(eventStreamRequest({ method: "GET", url: "/api/streams/all", headers: sse }, { socket: null })).toBeNull();
  });
});

describe.each(testStorageKinds)("the direct SSE path on %s", (kind) => {
  let storage: TestStorage;
  let store: EventStore;
  let server: http.Server;
  let port: number;
  let nextHandled: string[];

  beforeEach(async () => {
    storage = await openTestStorage(kind);
    setProcessStorage(storage);
    store = processEventStore(storage);
    nextHandled = [];
    server = http.createServer((req, res) => {
      const name = eventStreamRequest(req, res);
      if (name !== null) return void serveEventStream(req, res, name, storage);
      nextHandled.push(req.url ?? "");
      res.writeHead(418).end();
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    port = (server.address() as net.AddressInfo).port;
  });

  afterEach(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await closeLiveHub(storage);
    setProcessStorage(undefined);
    await storage.dispose();
  });

  async function reopenHub(options: Parameters<typeof getLiveHub>[1]) {
    await closeLiveHub(storage);
    const hub = getLiveHub(storage, options);
    store = processEventStore(storage);
    return hub;
  }

  it("announces the subscription with the route handler's headers, then sends history and live events", async () => {
    const { positions: history } = await store.append("Quote-1", [event("QuoteRequested", { n: 1 }, { context: "Underwriting" })]);
    const connection = await Connection.open(port, "/api/streams/all?after=0");
    expect(connection.status).toBe(200);
    expect(connection.response.headers).toMatchObject({
      "content-type": "text/event-stream",
      "cache-control": "no-cache, no-transform",
      "x-accel-buffering": "no",
      "transfer-encoding": "chunked",
    });
    expect(connection.subscriptionId).toMatch(/^[0-9a-f-]{36}$/);
    await waitFor(() => connection.dataEvents.length === 1);
    expect(connection.messages.slice(0, 2)).toEqual([
      { kind: "retry", milliseconds: 2000 },
      { kind: "event", id: undefined, event: "subscription", data: JSON.stringify({ id: connection.subscriptionId, stream: "all" }) },
    ]);
    expect(connection.dataEvents[0]!.id).toBe(String(history[0]));
    const { positions } = await store.append("Quote-1", [event("QuoteGenerated", { n: 2 }, { context: "Underwriting" }), event("QuoteSent", { n: 3 }, { context: "Underwriting" })]);
    await waitFor(() => connection.dataEvents.length === 3);
    expect(connection.dataEvents.slice(1).map((e) => [e.id, e.event])).toEqual([
      [String(positions[0]), "QuoteGenerated"],
      [String(positions[1]), "QuoteSent"],
    ]);
    expect(connection.dataEvents[2]!.cloudEvent).toMatchObject({ type: "QuoteSent", position: positions[1], stream: "Quote-1", streamversion: 3, data: { n: 3 } });
    connection.close();
  });

  it("sends every connection of a stream the same events, and other streams only theirs", async () => {
    const all = await Promise.all(Array.from({ length: 5 }, () => Connection.open(port, "/api/streams/all")));
    const risk = await Connection.open(port, streamPath("context-Risk"));
    await store.append("A", [event("One", {}, { context: "Risk" }), event("Two", {}, { context: "Rate" })]);
    await store.append("B", [event("Three", {}, { context: "Risk" })]);
    for (const connection of all) await waitFor(() => connection.dataEvents.length === 3);
    await waitFor(() => risk.dataEvents.length === 2);
    for (const connection of all) expect(connection.dataEvents.map((e) => e.event)).toEqual(["One", "Two", "Three"]);
    expect(risk.dataEvents.map((e) => e.event)).toEqual(["One", "Three"]);
    for (const connection of [...all, risk]) connection.close();
  });

  it("resumes right after Last-Event-ID, with nothing missed or repeated", async () => {
    for (let i = 1; i <= 5; i += 1) await store.append("S", [event("Before", { i })]);
    const { events } = await store.readLog();
    const resumed = await Connection.open(port, "/api/streams/all?after=0", { "Last-Event-ID": String(events[2]!.position) });
    await waitFor(() => resumed.dataEvents.length === 2);
    await store.append("S", [event("After", { i: 6 })]);
    await waitFor(() => resumed.dataEvents.length === 3);
    expect(resumed.dataEvents.map((e) => (e.cloudEvent.data as { i: number }).i)).toEqual([4, 5, 6]);
    resumed.close();
  });

  it("refuses a malformed or unknown resume point with 400 and an unknown stream with 404, as JSON", async () => {
    await store.append("S", [event("E", {})]);
    const sse = { Accept: "text/event-stream" };
    const malformed = await getJson(port, "/api/streams/all", { ...sse, "Last-Event-ID": "abc" });
    expect(malformed.status).toBe(400);
    expect(malformed.headers["cache-control"]).toBe("no-store");
    expect(malformed.body.error.message).toMatch(/Last-Event-ID must be an event position/);
    const unknown = await getJson(port, "/api/streams/all?after=999999", sse);
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.message).toBe("after 999999 is not the position of an event in the log");
    const stream = await getJson(port, "/api/streams/everything", sse);
    expect(stream.status).toBe(404);
    expect(stream.body.error).toMatchObject({ status: 404, message: expect.stringMatching(/everything/) });
    expect(getLiveHub(storage).stats().subscriptions).toBe(0);
    expect(nextHandled).toEqual([]);
  });

  it("ends with `end` when the subscription is deleted, closing the chunked body properly", async () => {
    const connection = await Connection.open(port, "/api/streams/context-Risk");
    await waitFor(() => connection.events.length === 1);
    expect(deleteSubscription("context-Risk", connection.subscriptionId, storage).status).toBe(200);
    // `end` on the response needs the terminating chunk: a cut connection would only `close`.
    await new Promise<void>((resolve) => (connection.response.complete ? resolve() : connection.response.once("end", resolve)));
    expect(connection.events.at(-1)).toEqual({ kind: "event", id: undefined, event: "end", data: JSON.stringify({ reason: "deleted" }) });
    expect(getLiveHub(storage).stats().subscriptions).toBe(0);
  });

  it("frees the subscription when the client leaves", async () => {
    const connection = await Connection.open(port, "/api/streams/all");
    await waitFor(() => connection.events.length === 1);
    expect(getLiveHub(storage).stats().subscriptions).toBe(1);
    connection.close();
    await waitFor(() => getLiveHub(storage).stats().subscriptions === 0);
  });

  it("sends heartbeat comments on an idle connection", async () => {
    await reopenHub({ heartbeatIntervalMs: 20 });
    const connection = await Connection.open(port, "/api/streams/all");
    await waitFor(() => connection.messages.filter((message) => message.kind === "comment").length >= 2);
    expect(connection.messages.find((message) => message.kind === "comment")).toEqual({ kind: "comment", text: "heartbeat" });
    connection.close();
  });

  it("ends a client that stops reading with `overflow` once the socket is full, instead of buffering without bound", async () => {
    const hub = await reopenHub({ maxBufferedBytes: 8 * 1024 });
    const connection = await Connection.open(port, "/api/streams/all", {}, { paused: true });
    await waitFor(() => hub.stats().subscriptions === 1);
    // Far more than the socket buffers on both sides can hold while nobody reads.
    const padding = "x".repeat(100 * 1024);
    for (let batch = 0; batch < 30 && hub.stats().subscriptions > 0; batch += 1) {
      await store.append("Big", Array.from({ length: 10 }, (_, i) => event("Bulky", { padding, i: batch * 10 + i })));
    }
    await waitFor(() => hub.stats().subscriptions === 0);
    connection.resume();
    await waitFor(() => connection.ended);
    const end = connection.events.at(-1)!;
    expect(end.event).toBe("end");
    expect(JSON.parse(end.data)).toMatchObject({ reason: "overflow", limitBytes: 8 * 1024 });
    expect(connection.dataEvents.length).toBeLessThan(300);
  });

  it("writes the frames as they are to an HTTP/1.0 client, which has no chunked encoding", async () => {
    const socket = net.connect(port, "127.0.0.1");
    let received = "";
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => (received += chunk));
    socket.write("GET /api/streams/all HTTP/1.0\r\nAccept: text/event-stream\r\n\r\n");
    await waitFor(() => received.includes("event: subscription"));
    const { positions } = await store.append("S", [event("Plain", { n: 1 })]);
    await waitFor(() => received.includes("event: Plain"));
    socket.destroy();
    const [head, body] = received.split("\r\n\r\n");
    expect(head).toMatch(/^HTTP\/1\.1 200 OK/);
    expect(head).not.toMatch(/transfer-encoding/i);
    const messages = new SseParser().push(body!);
    expect(messages[0]).toEqual({ kind: "retry", milliseconds: 2000 });
    expect(messages.at(-1)).toMatchObject({ kind: "event", id: String(positions[0]), event: "Plain" });
  });
});
