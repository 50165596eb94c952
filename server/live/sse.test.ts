import { describe, expect, it } from "vitest";
import { encodeSseComment, encodeSseFrame, encodeSseRetry, parseResumePoint, SseParser, type SseMessage } from "./sse.ts";

/** A minimal reading of the WHATWG event-stream grammar, to check frames the way a browser would. */
function parseEventStream(text: string): { id?: string; event?: string; data: string; retry?: number }[] {
  const events: { id?: string; event?: string; data: string; retry?: number }[] = [];
  let current: { id?: string; event?: string; data: string[]; retry?: number } = { data: [] };
  for (const line of text.split(/\r\n|\r|\n/)) {
    if (line === "") {
      if (current.data.length > 0 || current.retry !== undefined) {
        events.push({ ...current, data: current.data.join("\n") });
      }
      current = { data: [] };
      continue;
    }
    if (line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "data") current.data.push(value);
    else if (field === "event") current.event = value;
    else if (field === "id") current.id = value;
    else if (field === "retry") current.retry = Number(value);
  }
  return events;
}

describe("SSE encoding", () => {
  it("writes id, event and data, ended by a blank line", () => {
    expect(encodeSseFrame({ id: "42", event: "QuoteGenerated", data: '{"a":1}' })).toBe('event: QuoteGenerated\nid: 42\ndata: {"a":1}\n\n');
  });

  it("keeps a frame whole whatever its fields contain", () => {
    const text = encodeSseFrame({ id: "4\n2\0", event: "Bad\r\nType", data: "line one\nline two\r\nline three" });
    expect(parseEventStream(text)).toEqual([{ id: "4 2", event: "Bad Type", data: "line one\nline two\nline three" }]);
  });

  it("omits the id when none is given, so the client's Last-Event-ID stays", () => {
    expect(encodeSseFrame({ event: "subscription", data: "{}" })).toBe("event: subscription\ndata: {}\n\n");
  });

  it("writes comments and the retry hint that clients ignore or obey", () => {
    const stream = encodeSseRetry(2000) + encodeSseComment("heart\nbeat") + encodeSseFrame({ id: "1", data: "x" });
    expect(parseEventStream(stream)).toEqual([{ data: "", retry: 2000 }, { id: "1", data: "x" }]);
    expect(encodeSseComment("heartbeat")).toBe(": heartbeat\n\n");
  });
});

describe("resume points", () => {
  it("prefers Last-Event-ID, then ?after=, else live", () => {
    expect(parseResumePoint("42", "7")).toEqual({ ok: true, resume: { kind: "after", position: 42 } });
    expect(parseResumePoint(null, "7")).toEqual({ ok: true, resume: { kind: "after", position: 7 } });
    expect(parseResumePoint(null, "0")).toEqual({ ok: true, resume: { kind: "after", position: 0 } });
    expect(parseResumePoint("", null)).toEqual({ ok: true, resume: { kind: "live" } });
    expect(parseResumePoint(null, null)).toEqual({ ok: true, resume: { kind: "live" } });
  });

  it("refuses anything that is not a whole number position", () => {
    for (const bad of ["-1", "1.5", "abc", "0x10", "1e3", "99999999999999999", " 4 2"]) {
      const parsed = parseResumePoint(bad, null);
      expect(parsed.ok, bad).toBe(false);
      if (!parsed.ok) expect(parsed.message).toMatch(/^Last-Event-ID must be an event position/);
    }
    const after = parseResumePoint(null, "x");
    expect(after.ok).toBe(false);
    if (!after.ok) expect(after.message).toMatch(/^after must be/);
  });
});

describe("the incremental parser", () => {
  const stream =
    encodeSseRetry(2000) +
    encodeSseFrame({ event: "subscription", data: '{"id":"s"}' }) +
    encodeSseComment("heartbeat") +
    encodeSseFrame({ id: "7", event: "RiskAssessed", data: "one\ntwo" }) +
    "id: 8\r\ndata: crlf\r\n\r\n" +
    "data: plain\rid: 9\r\r";
  const expected: SseMessage[] = [
    { kind: "retry", milliseconds: 2000 },
    { kind: "event", id: undefined, event: "subscription", data: '{"id":"s"}' },
    { kind: "comment", text: "heartbeat" },
    { kind: "event", id: "7", event: "RiskAssessed", data: "one\ntwo" },
    { kind: "event", id: "8", event: "message", data: "crlf" },
    { kind: "event", id: "9", event: "message", data: "plain" },
  ];

  it("reads a whole stream", () => {
    expect(new SseParser().push(stream)).toEqual(expected);
  });

  it("reads the same stream split at every possible point", () => {
    for (let cut = 0; cut <= stream.length; cut += 1) {
      const parser = new SseParser();
      expect([...parser.push(stream.slice(0, cut)), ...parser.push(stream.slice(cut))], `cut at ${cut}`).toEqual(expected);
    }
  });

  it("reads a stream fed one character at a time", () => {
    const parser = new SseParser();
    expect([...stream].flatMap((character) => parser.push(character))).toEqual(expected);
  });
});
