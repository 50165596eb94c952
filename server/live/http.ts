/**
 * The event stream HTTP API behind app/api/streams (README.md in this folder describes it):
 *
 *   GET    /api/streams/{name}/{from}-{to}     a page of PAGE_SIZE CloudEvents; full pages are immutable
 *   GET    /api/streams/{name}/current         the newest page (not cacheable)
 *   GET    /api/streams/{name}                 Accept: text/event-stream → live events (SSE); else a summary
 *   DELETE /api/streams/{name}?subscription=id (or …/subscriptions/{id}) ends a live subscription
 */
import { createHash } from "node:crypto";
import type { Sql } from "../db/sql.ts";
import { toCloudEvent } from "./cloudevent.ts";
import { UnknownPositionError } from "./hub.ts";
import { readSequence, sequenceLength } from "./log-view.ts";
import type { LiveSubscription, SubscriptionEnd } from "./live-subscription.ts";
import { currentPage, formatLinkHeader, formatRange, PAGE_SIZE, pageLinks, parsePageRequest, type PageRange } from "./paging.ts";
import { getLiveHub } from "./process-hub.ts";
import { encodeSseComment, encodeSseFrame, encodeSseRetry, parseResumePoint } from "./sse.ts";
import { parseStreamName, streamPath, type StreamSelector } from "./stream-name.ts";

export interface LiveStorage {
  sql: Sql;
}

export const SUBSCRIPTION_HEADER = "Sagaboard-Subscription-Id";
/** How long an EventSource waits before reconnecting after the connection drops. */
export const RETRY_MS = 2_000;
const IMMUTABLE = "public, max-age=31536000, immutable";
const REVALIDATE = "no-cache";

function jsonError(status: number, message: string, headers: Record<string, string> = {}): Response {
  return Response.json({ error: { status, message } }, { status, headers: { "Cache-Control": "no-store", ...headers } });
}

function strongEtag(body: string): string {
  return `"${createHash("sha256").update(body).digest("base64url")}"`;
}

/** If-None-Match uses the weak comparison (RFC 9110 §13.1.2): W/ prefixes do not matter. */
function etagMatches(ifNoneMatch: string | null, etag: string): boolean {
  if (ifNoneMatch === null) return false;
  if (ifNoneMatch.trim() === "*") return true;
  const opaque = etag.replace(/^W\//, "");
  return ifNoneMatch.split(",").some((candidate) => candidate.trim().replace(/^W\//, "") === opaque);
}

function unknownStreamMessage(name: string): string {
  return `Unknown stream ${JSON.stringify(name)}: it has no events`;
}

export async function getStreamPage(request: Request, rawName: string, rawRange: string, storage: LiveStorage): Promise<Response> {
  const parsedName = parseStreamName(rawName);
  if (!parsedName.ok) return jsonError(404, parsedName.message);
  const { name, selector } = parsedName;
  const parsedRange = parsePageRequest(rawRange);
  if (!parsedRange.ok) return jsonError(400, parsedRange.message);
  const pageRequest = parsedRange.request;

  let range: PageRange;
  switch (pageRequest.kind) {
    case "current": {
      const length = await sequenceLength(storage.sql, selector);
      if (length === 0 && selector.kind !== "all") return jsonError(404, unknownStreamMessage(name));
      range = currentPage(length);
      break;
    }
    case "range":
      range = pageRequest.range;
      break;
    default: {
      const unreachable: never = pageRequest;
      throw new Error(`unknown page request ${JSON.stringify(unreachable)}`);
    }
  }

  const logged = await readSequence(storage.sql, selector, range.from, PAGE_SIZE);
  if (logged.length === 0 && pageRequest.kind === "range") {
    const missing = await missingPage(storage.sql, name, selector, range);
    if (missing) return missing;
  }
  const full = logged.length === PAGE_SIZE;
  const body = JSON.stringify({ stream: name, from: range.from, to: range.to, events: logged.map(({ event }) => toCloudEvent(event)) });
  const etag = strongEtag(body);
  const headers: Record<string, string> = {
    ETag: etag,
    Link: pageLinks(name, range, full),
    "Cache-Control": full && pageRequest.kind === "range" ? IMMUTABLE : REVALIDATE,
  };
  if (pageRequest.kind === "current") headers["Content-Location"] = streamPath(name, formatRange(range));
  if (etagMatches(request.headers.get("if-none-match"), etag)) return new Response(null, { status: 304, headers });
  return new Response(body, { status: 200, headers: { ...headers, "Content-Type": "application/json" } });
}

/** An empty numbered page is served only as the page right after the last event. */
async function missingPage(sql: Sql, name: string, selector: StreamSelector, range: PageRange): Promise<Response | undefined> {
  const length = await sequenceLength(sql, selector);
  if (length === 0 && selector.kind !== "all") return jsonError(404, unknownStreamMessage(name));
  if (range.from <= length + 1) return undefined;
  const current = currentPage(length);
  return jsonError(404, `Page ${formatRange(range)} is beyond the end of ${name}: it has ${length} events, the newest page is ${formatRange(current)}`, {
    Link: formatLinkHeader([
      ["first", streamPath(name, formatRange({ from: 1, to: PAGE_SIZE }))],
      ["current", streamPath(name, "current")],
    ]),
  });
}

/** Whether an Accept header asks for Server-Sent Events (otherwise GET of a stream describes it). */
export function acceptsEventStream(accept: string | null | undefined): boolean {
  return (accept ?? "").toLowerCase().includes("text/event-stream");
}

export type EventStreamStart = { ok: true; subscription: LiveSubscription } | { ok: false; status: number; message: string };

/**
 * Opens the subscription behind an SSE response: where it resumes (Last-Event-ID, else ?after=,
 * else live) and its registration with the process's hub. Shared by the route handler and the
 * custom server's direct path (event-stream-server.ts), so both answer alike.
 */
export async function startEventStream(name: string, selector: StreamSelector, lastEventId: string | null, after: string | null, storage: LiveStorage): Promise<EventStreamStart> {
  const resume = parseResumePoint(lastEventId, after);
  if (!resume.ok) return { ok: false, status: 400, message: resume.message };
  try {
    const subscription = await getLiveHub(storage).open({
      name,
      selector,
      after: resume.resume.kind === "after" ? resume.resume.position : null,
    });
    return { ok: true, subscription };
  } catch (error) {
    if (error instanceof UnknownPositionError) {
      const source = lastEventId?.trim() ? "Last-Event-ID" : "after";
      return { ok: false, status: 400, message: `${source} ${error.position} is not the position of an event in the log` };
    }
    throw error;
  }
}

export function eventStreamHeaders(subscription: LiveSubscription): Record<string, string> {
  return {
    "Content-Type": "text/event-stream",
    "Cache-Control": "no-cache, no-transform",
    "X-Accel-Buffering": "no",
    [SUBSCRIPTION_HEADER]: subscription.id,
  };
}

/** What every SSE response starts with: the reconnection delay and the subscription notice. */
export function eventStreamPreamble(subscription: LiveSubscription): string {
  return encodeSseRetry(RETRY_MS) + encodeSseFrame({ event: "subscription", data: JSON.stringify({ id: subscription.id, stream: subscription.name }) });
}

/** The last frame of a response whose subscription ended; none when the client left. */
export function eventStreamEnd(end: SubscriptionEnd): string | null {
  return end.reason === "client" ? null : encodeSseFrame({ event: "end", data: JSON.stringify(end) });
}

export async function getStream(request: Request, rawName: string, storage: LiveStorage): Promise<Response> {
  const parsedName = parseStreamName(rawName);
  if (!parsedName.ok) return jsonError(404, parsedName.message);
  const { name, selector } = parsedName;
  if (!acceptsEventStream(request.headers.get("accept"))) return describeStream(name, selector, storage);

  const start = await startEventStream(name, selector, request.headers.get("last-event-id"), new URL(request.url).searchParams.get("after"), storage);
  if (!start.ok) return jsonError(start.status, start.message);
  const { subscription } = start;
  const end = () => subscription.close({ reason: "client" });
  if (request.signal.aborted) end();
  else request.signal.addEventListener("abort", end, { once: true });
  return new Response(sseBody(subscription), { status: 200, headers: eventStreamHeaders(subscription) });
}

const encoder = new TextEncoder();
export const HEARTBEAT = encoder.encode(encodeSseComment("heartbeat"));

/** Events already queued when a write starts go out in the same chunk, up to this size. */
const MAX_CHUNK_BYTES = 64 * 1024;

/**
 * The response body. Events move from the subscription into the stream only while the stream
 * has room (its queue holds one chunk); a slow client's backlog therefore stays in the
 * subscription's bounded queue, where it is measured. Moving them is synchronous, without a
 * promise per event, because one server fans each event out to thousands of connections.
 */
function sseBody(subscription: LiveSubscription): ReadableStream<Uint8Array> {
  let finished = false;
  let flush = () => {};
  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        controller.enqueue(encoder.encode(eventStreamPreamble(subscription)));
        flush = () => {
          if (finished) return;
          while ((controller.desiredSize ?? 0) > 0) {
            const chunk = takeChunk(subscription);
            if (chunk) {
              controller.enqueue(chunk);
              continue;
            }
            const end = subscription.ended;
            if (end) {
              finished = true;
              const last = eventStreamEnd(end);
              if (last) controller.enqueue(encoder.encode(last));
              controller.close();
              return;
            }
            if (subscription.takeHeartbeat()) controller.enqueue(HEARTBEAT);
            return;
          }
        };
        subscription.onReadable(flush);
      },
      pull() {
        flush();
      },
      cancel() {
        finished = true;
        subscription.close({ reason: "client" });
      },
    },
    { highWaterMark: 1 },
  );
}

/** The queued events as one chunk (up to MAX_CHUNK_BYTES); a lone event's shared frame as it is. */
function takeChunk(subscription: LiveSubscription): Uint8Array | undefined {
  const first = subscription.poll();
  if (!first || subscription.queuedBytes === 0) return first?.frame;
  const frames = [first.frame];
  let size = first.frame.byteLength;
  while (size < MAX_CHUNK_BYTES) {
    const next = subscription.poll();
    if (!next) break;
    frames.push(next.frame);
    size += next.frame.byteLength;
  }
  const chunk = new Uint8Array(size);
  let offset = 0;
  for (const frame of frames) {
    chunk.set(frame, offset);
    offset += frame.byteLength;
  }
  return chunk;
}

async function describeStream(name: string, selector: StreamSelector, storage: LiveStorage): Promise<Response> {
  const length = await sequenceLength(storage.sql, selector);
  if (length === 0 && selector.kind !== "all") return jsonError(404, unknownStreamMessage(name));
  const first = streamPath(name, formatRange({ from: 1, to: PAGE_SIZE }));
  const current = streamPath(name, formatRange(currentPage(length)));
  return Response.json(
    { stream: name, events: length, pageSize: PAGE_SIZE, first, current },
    {
      headers: {
        "Cache-Control": REVALIDATE,
        Link: formatLinkHeader([
          ["first", first],
          ["current", streamPath(name, "current")],
        ]),
      },
    },
  );
}

export function deleteSubscription(rawName: string, id: string | null, storage: LiveStorage): Response {
  const parsedName = parseStreamName(rawName);
  if (!parsedName.ok) return jsonError(404, parsedName.message);
  if (id === null || id.trim() === "") {
    return jsonError(400, `Name the subscription to end: DELETE ${streamPath(parsedName.name)}?subscription={id} (the id is in the ${SUBSCRIPTION_HEADER} header and the first "subscription" event)`);
  }
  if (!getLiveHub(storage).end(parsedName.name, id)) {
    return jsonError(404, `No open subscription ${JSON.stringify(id)} on stream ${parsedName.name} in this server process`);
  }
  return Response.json({ stream: parsedName.name, subscription: id, ended: true }, { headers: { "Cache-Control": "no-store" } });
}
