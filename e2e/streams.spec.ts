/**
 * The event stream API against the real server (custom server, request gate, Next route
 * handlers, PGlite, the in-process runtime). Events come from running the insurance quote
 * template through the runtime's tRPC procedures, as the app does.
 */
import http from "node:http";
import { expect, test, type APIRequestContext } from "@playwright/test";
import { SseParser, type SseMessage } from "../server/live/sse.ts";

/** An SSE connection over plain HTTP (Playwright's request fixture waits for whole bodies). */
function openEventStream(baseURL: string, path: string, headers: Record<string, string> = {}) {
  const messages: SseMessage[] = [];
  const parser = new SseParser();
  let ended = false;
  let request: http.ClientRequest;
  const response = new Promise<http.IncomingMessage>((resolve, reject) => {
    request = http.get(new URL(path, baseURL), { headers: { Accept: "text/event-stream", ...headers } }, (res) => {
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => messages.push(...parser.push(chunk)));
      res.on("end", () => (ended = true));
      res.on("close", () => (ended = true));
      resolve(res);
    });
    request.on("error", reject);
  });
  return {
    response,
    messages,
    get ended() {
      return ended;
    },
    close: () => request.destroy(),
  };
}

/** A tRPC mutation over HTTP (superjson envelope), as the app's client sends it. */
async function mutate<T>(request: APIRequestContext, path: string, input: unknown): Promise<T> {
  const response = await request.post(`/api/trpc/${path}`, { data: { json: input } });
  expect(response.ok(), `${path}: ${await response.text()}`).toBe(true);
  return ((await response.json()) as { result: { data: { json: T } } }).result.data.json;
}

async function startQuoteInstance(request: APIRequestContext, applicationId: string): Promise<{ correlationId: string }> {
  const board = await mutate<{ id: string }>(request, "board.create", { name: `Streams e2e ${applicationId}`, templateId: "insurance-quote" });
  const published = await mutate<{ version: { version: number } }>(request, "runtime.publish", { boardId: board.id });
  await mutate(request, "runtime.deploy", { boardId: board.id, version: published.version.version });
  return mutate<{ correlationId: string }>(request, "runtime.start", {
    boardId: board.id,
    payload: {
      applicationId,
      applicant: { firstName: "Grace", lastName: "Hopper", dateOfBirth: "1906-12-09", postcode: "NY" },
      coverage: { product: "motor", sumInsured: 40_000, deductible: 500, startDate: "2027-01-01T00:00:00.000Z" },
      submittedAt: "2026-11-23T10:00:00.000Z",
    },
  });
}

type StreamEvent = Extract<SseMessage, { kind: "event" }>;

test("a running process's events arrive live over SSE and page by instance with caching headers", async ({ request, baseURL }) => {
  const live = openEventStream(baseURL!, "/api/streams/all");
  await live.response;
  await expect.poll(() => live.messages.some((m) => m.kind === "event" && m.event === "subscription")).toBe(true);

  const { correlationId } = await startQuoteInstance(request, "E2E-1");
  const ofInstance = () =>
    live.messages.filter((m): m is StreamEvent => m.kind === "event" && m.id !== undefined && JSON.parse(m.data).correlationid === correlationId);
  // The orchestrated quote ends with QuoteGenerated once Risk and Rate have answered.
  await expect.poll(() => ofInstance().map((m) => m.event), { timeout: 30_000 }).toContain("QuoteGenerated");
  const received = ofInstance();
  expect(received[0]!.event).toBe("ApplicationSubmitted");
  for (const message of received) {
    const cloudEvent = JSON.parse(message.data);
    expect(cloudEvent).toMatchObject({ specversion: "1.0", type: message.event, position: Number(message.id), correlationid: correlationId });
  }
  live.close();

  const name = encodeURIComponent(`instance-${correlationId}`);
  const page = await request.get(`/api/streams/${name}/current`);
  expect(page.status()).toBe(200);
  expect(page.headers()["content-location"]).toBe(`/api/streams/${name}/1-20`);
  const paged = (await page.json()).events as { position: number; type: string }[];
  expect(paged.slice(0, received.length).map((e) => e.position)).toEqual(received.map((m) => Number(m.id)));

  // Resuming after the first event replays the rest of the instance, in the same order.
  const resumed = openEventStream(baseURL!, `/api/streams/${name}`, { "Last-Event-ID": received[0]!.id! });
  await expect.poll(() => resumed.messages.filter((m) => m.kind === "event" && m.id !== undefined).length).toBeGreaterThanOrEqual(received.length - 1);
  expect(resumed.messages.filter((m): m is StreamEvent => m.kind === "event" && m.id !== undefined).slice(0, received.length - 1).map((m) => m.id)).toEqual(received.slice(1).map((m) => m.id));
  resumed.close();
});

test("the global stream's pages carry caching headers, Link headers and ETags", async ({ request }) => {
  const current = await request.get("/api/streams/all/current");
  expect(current.status()).toBe(200);
  const headers = current.headers();
  expect(headers["cache-control"]).toBe("no-cache");
  expect(headers["content-location"]).toMatch(/^\/api\/streams\/all\/\d+-\d+$/);
  expect(headers["etag"]).toMatch(/^"[A-Za-z0-9_-]{43}"$/);
  expect(headers["link"]).toContain('</api/streams/all/1-20>; rel="first"');
  expect(headers["link"]).toContain('</api/streams/all/current>; rel="current"');
  const body = await current.json();
  expect(body).toMatchObject({ stream: "all" });
  expect(body.to - body.from).toBe(19);

  const numbered = await request.get(headers["content-location"]!);
  expect(await numbered.text()).toBe(await current.text());
  const revalidated = await request.get(headers["content-location"]!, { headers: { "If-None-Match": headers["etag"]! } });
  expect(revalidated.status()).toBe(304);
});

test("malformed ranges are 400 and unknown streams 404, as JSON", async ({ request }) => {
  const unaligned = await request.get("/api/streams/all/5-24");
  expect(unaligned.status()).toBe(400);
  expect((await unaligned.json()).error.message).toMatch(/not aligned/);
  const wrongSize = await request.get("/api/streams/all/1-50");
  expect(wrongSize.status()).toBe(400);
  expect((await wrongSize.json()).error.message).toMatch(/pages hold exactly 20/);
  const unknownKind = await request.get("/api/streams/everything/1-20");
  expect(unknownKind.status()).toBe(404);
  // The name is one percent-encoded path segment, slash included.
  const encoded = await request.get(`/api/streams/${encodeURIComponent("stream-Quote/7 b")}/current`);
  expect(encoded.status()).toBe(404);
  expect((await encoded.json()).error.message).toContain('"stream-Quote/7 b"');
  const beyond = await request.get("/api/streams/all/2001-2020");
  expect(beyond.status()).toBe(404);
  expect((await request.get("/api/streams/all", { headers: { Accept: "text/event-stream", "Last-Event-ID": "not-a-number" } })).status()).toBe(400);
  expect((await request.get("/api/streams/all", { headers: { Accept: "text/event-stream", "Last-Event-ID": "987654321" } })).status()).toBe(400);
});

test("a live subscription streams, announces its id, and DELETE ends it", async ({ request, baseURL }) => {
  const stream = openEventStream(baseURL!, "/api/streams/context-Underwriting");
  const response = await stream.response;
  expect(response.statusCode).toBe(200);
  expect(response.headers["content-type"]).toBe("text/event-stream");
  expect(response.headers["cache-control"]).toBe("no-cache, no-transform");
  expect(response.headers["x-accel-buffering"]).toBe("no");
  const id = response.headers["sagaboard-subscription-id"] as string;
  expect(id).toMatch(/^[0-9a-f-]{36}$/);
  // Arriving before any event proves the response is streamed, not buffered until it ends.
  await expect.poll(() => stream.messages.find((m) => m.kind === "event" && m.event === "subscription")).toEqual({
    kind: "event",
    id: undefined,
    event: "subscription",
    data: JSON.stringify({ id, stream: "context-Underwriting" }),
  });
  expect(stream.messages[0]).toEqual({ kind: "retry", milliseconds: 2000 });

  expect((await request.delete(`/api/streams/context-Risk?subscription=${id}`)).status()).toBe(404);
  const deleted = await request.delete(`/api/streams/context-Underwriting?subscription=${id}`);
  expect(deleted.status()).toBe(200);
  expect(await deleted.json()).toEqual({ stream: "context-Underwriting", subscription: id, ended: true });
  await expect.poll(() => stream.ended).toBe(true);
  expect(stream.messages.at(-1)).toEqual({ kind: "event", id: undefined, event: "end", data: JSON.stringify({ reason: "deleted" }) });
  expect((await request.delete(`/api/streams/context-Underwriting/subscriptions/${id}`)).status()).toBe(404);
});

test("a client that leaves frees its subscription, which can then no longer be deleted", async ({ request, baseURL }) => {
  const stream = openEventStream(baseURL!, "/api/streams/all?after=0");
  const response = await stream.response;
  const id = response.headers["sagaboard-subscription-id"] as string;
  await expect.poll(() => stream.messages.some((m) => m.kind === "event" && m.event === "subscription")).toBe(true);
  stream.close();
  await expect.poll(async () => (await request.delete(`/api/streams/all/subscriptions/${id}`)).status()).toBe(404);
});
