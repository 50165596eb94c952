/**
 * Server-Sent Events wire format (WHATWG HTML, "server-sent events"): frames, comments, the
 * reconnection hint, and the resume point a client sends back.
 */

export interface SseFrame {
  /** Omitted for frames that must not move the client's Last-Event-ID (the subscription notice). */
  id?: string;
  event?: string;
  data: string;
}

/** A field value cannot hold a line break: CR, LF and CRLF all end a line in the SSE grammar. */
const LINE_BREAK = /\r\n|\r|\n/;

function singleLine(field: string, value: string): string {
  const line = value.replace(/\r\n|\r|\n/g, " ");
  // A NUL in an id makes clients ignore the whole field.
  return field === "id" ? line.replaceAll("\0", "") : line;
}

export function encodeSseFrame(frame: SseFrame): string {
  let text = "";
  if (frame.event !== undefined) text += `event: ${singleLine("event", frame.event)}\n`;
  if (frame.id !== undefined) text += `id: ${singleLine("id", frame.id)}\n`;
  for (const line of frame.data.split(LINE_BREAK)) text += `data: ${line}\n`;
  return `${text}\n`;
}

/** A comment line: ignored by clients, keeps proxies and idle timers from closing the connection. */
export function encodeSseComment(text: string): string {
  return `: ${text.replace(/\r\n|\r|\n/g, " ")}\n\n`;
}

export function encodeSseRetry(milliseconds: number): string {
  return `retry: ${Math.max(0, Math.floor(milliseconds))}\n\n`;
}

export type ResumePoint =
  /** Only events committed from now on. */
  | { kind: "live" }
  /** Events after this global position (0: from the very start of the log). */
  | { kind: "after"; position: number };

export type ResumePointResult = { ok: true; resume: ResumePoint } | { ok: false; message: string };

const POSITION = /^\d{1,16}$/;

/**
 * Where a connection starts: after `Last-Event-ID` when the client sends one (a reconnect), else
 * after `?after=` (a first connection that wants history), else live.
 */
export function parseResumePoint(lastEventId: string | null, after: string | null): ResumePointResult {
  if (lastEventId !== null && lastEventId.trim() !== "") return parsePosition(lastEventId.trim(), "Last-Event-ID");
  if (after !== null) return parsePosition(after, "after");
  return { ok: true, resume: { kind: "live" } };
}

function parsePosition(value: string, source: string): ResumePointResult {
  const position = POSITION.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(position)) {
    return { ok: false, message: `${source} must be an event position (a whole number such as 42), got ${JSON.stringify(value.slice(0, 40))}` };
  }
  return { ok: true, resume: { kind: "after", position } };
}

/** One dispatched block of an event stream; comments are reported too (heartbeats). */
export type SseMessage =
  | { kind: "event"; id: string | undefined; event: string; data: string }
  | { kind: "comment"; text: string }
  | { kind: "retry"; milliseconds: number };

/**
 * Incremental reader of an event stream, for clients of this API written in TypeScript (tests,
 * the benchmark, tools). Chunks may split lines anywhere. Follows the WHATWG parsing rules; the
 * id of an event is its own `id:` field (undefined when absent), not the inherited last id.
 */
export class SseParser {
  private buffer = "";
  private pendingCr = false;
  private id: string | undefined;
  private event = "";
  private data: string[] = [];
  private hasData = false;

  push(chunk: string): SseMessage[] {
    const messages: SseMessage[] = [];
    let text = chunk;
    if (this.pendingCr && text.startsWith("\n")) text = text.slice(1);
    this.pendingCr = false;
    this.buffer += text;
    for (;;) {
      const match = /\r\n|\r|\n/.exec(this.buffer);
      if (!match) break;
      // A CR at the very end may be the first half of CRLF split across chunks.
      if (match[0] === "\r" && match.index === this.buffer.length - 1) this.pendingCr = true;
      const line = this.buffer.slice(0, match.index);
      this.buffer = this.buffer.slice(match.index + match[0].length);
      this.line(line, messages);
    }
    return messages;
  }

  private line(line: string, messages: SseMessage[]): void {
    if (line === "") {
      if (this.hasData) messages.push({ kind: "event", id: this.id, event: this.event || "message", data: this.data.join("\n") });
      this.id = undefined;
      this.event = "";
      this.data = [];
      this.hasData = false;
      return;
    }
    if (line.startsWith(":")) {
      messages.push({ kind: "comment", text: line.slice(1).trimStart() });
      return;
    }
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    switch (field) {
      case "data":
        this.data.push(value);
        this.hasData = true;
        return;
      case "event":
        this.event = value;
        return;
      case "id":
        if (!value.includes("\0")) this.id = value;
        return;
      case "retry":
        if (/^\d+$/.test(value)) messages.push({ kind: "retry", milliseconds: Number(value) });
        return;
      default:
        return;
    }
  }
}
