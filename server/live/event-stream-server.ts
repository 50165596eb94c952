/**
 * `GET /api/streams/{name}` with `Accept: text/event-stream`, served by the custom server
 * (server/main.ts, after the request gate) straight onto the Node response instead of through
 * Next's route handler. The hub fans each event out to thousands of connections; here a write is
 * one `res.write` of the frame the hub encoded once, where a Next response stream costs a chain
 * of promises per write. Everything else about the response (status codes, headers, frames) is
 * the route handler's, from the same functions in http.ts.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { acceptsEventStream, eventStreamEnd, eventStreamHeaders, eventStreamPreamble, HEARTBEAT, startEventStream, type LiveStorage } from "./http.ts";
import type { LiveEvent, LiveSubscription } from "./live-subscription.ts";
import { parseStreamName } from "./stream-name.ts";

const STREAM_PATH = /^\/api\/streams\/([^/?#]+)(?:\?.*)?$/;

/**
 * The stream name (percent-decoded) when the request is an SSE subscription this module serves,
 * otherwise null: the request is Next's (pages, summaries, DELETE, malformed URLs, and a
 * pipelined request whose response has no socket yet, as this module writes to the socket).
 */
export function eventStreamRequest(req: Pick<IncomingMessage, "method" | "url" | "headers">, res: Pick<ServerResponse, "socket">): string | null {
  if (req.method !== "GET" || !res.socket || !acceptsEventStream(req.headers.accept)) return null;
  const segment = STREAM_PATH.exec(req.url ?? "")?.[1];
  if (segment === undefined) return null;
  try {
    return decodeURIComponent(segment);
  } catch {
    return null;
  }
}

function sendJsonError(res: ServerResponse, status: number, message: string): void {
  res.writeHead(status, { "Content-Type": "application/json", "Cache-Control": "no-store" });
  res.end(JSON.stringify({ error: { status, message } }));
}

const CRLF = Buffer.from("\r\n", "latin1");

/** Bytes as one HTTP/1.1 chunk of a chunked response. */
function asHttpChunk(parts: readonly Uint8Array[]): Buffer {
  const size = parts.reduce((total, part) => total + part.byteLength, 0);
  return Buffer.concat([Buffer.from(`${size.toString(16)}\r\n`, "latin1"), ...parts, CRLF]);
}

const HEARTBEAT_CHUNK = asHttpChunk([HEARTBEAT]);
/** Events already queued when a write starts go out in the same write, up to this size. */
const MAX_WRITE_BYTES = 64 * 1024;

/**
 * The chunk of a run of events, by its first event. The hub offers a batch to every
 * subscription of a stream as the same events, so the connections that are keeping up all send
 * the same run: it is framed once and the same bytes are written to each of them.
 */
const sharedChunks = new WeakMap<LiveEvent, { last: LiveEvent; count: number; chunk: Buffer }>();

function httpChunkOf(events: readonly LiveEvent[]): Buffer {
  const first = events[0]!;
  const last = events[events.length - 1]!;
  const shared = sharedChunks.get(first);
  if (shared && shared.last === last && shared.count === events.length) return shared.chunk;
  const chunk = asHttpChunk(events.map((event) => event.frame));
  sharedChunks.set(first, { last, count: events.length, chunk });
  return chunk;
}

/** The queued events to send in one write. */
function takeRun(subscription: LiveSubscription): LiveEvent[] {
  const events: LiveEvent[] = [];
  let bytes = 0;
  while (bytes < MAX_WRITE_BYTES) {
    const event = subscription.poll();
    if (!event) break;
    events.push(event);
    bytes += event.frame.byteLength;
  }
  return events;
}

/**
 * Serves one SSE connection. After the headers, frames go to the socket as they are, already
 * framed as chunks where the response is chunked: `res.write` would frame and copy every write
 * anew, and it is the per-connection cost that limits a fan-out. Events move from the
 * subscription to the socket only while the socket has room (until it asks to wait for `drain`),
 * so a slow client's backlog stays in the subscription's bounded queue, where it is measured and
 * ended.
 */
export async function serveEventStream(req: IncomingMessage, res: ServerResponse, rawName: string, storage: LiveStorage): Promise<void> {
  const parsedName = parseStreamName(rawName);
  if (!parsedName.ok) return sendJsonError(res, 404, parsedName.message);
  const lastEventId = req.headers["last-event-id"];
  const after = new URL(req.url ?? "/", "http://stream.invalid").searchParams.get("after");
  const start = await startEventStream(parsedName.name, parsedName.selector, typeof lastEventId === "string" ? lastEventId : null, after, storage);
  if (!start.ok) return sendJsonError(res, start.status, start.message);
  const { subscription } = start;
  const socket = res.socket;
  if (!socket || socket.destroyed || res.destroyed) {
    subscription.close({ reason: "client" });
    return;
  }

  res.writeHead(200, eventStreamHeaders(subscription));
  // Sends the headers; from here on the response writes nothing until res.end.
  res.write(eventStreamPreamble(subscription));
  const chunked = res.chunkedEncoding;
  let finished = false;
  const flush = () => {
    if (finished) return;
    while (!socket.writableNeedDrain) {
      const events = takeRun(subscription);
      if (events.length > 0) {
        socket.write(chunked ? httpChunkOf(events) : Buffer.concat(events.map((event) => event.frame)));
        continue;
      }
      const end = subscription.ended;
      if (end) {
        finished = true;
        const last = eventStreamEnd(end);
        if (last) res.end(last);
        else res.end();
      } else if (subscription.takeHeartbeat()) {
        socket.write(chunked ? HEARTBEAT_CHUNK : HEARTBEAT);
      }
      return;
    }
  };
  res.on("close", () => {
    finished = true;
    socket.off("drain", flush);
    subscription.close({ reason: "client" });
  });
  socket.on("drain", flush);
  subscription.onReadable(flush);
  flush();
}
