import { describe, expect, it } from "vitest";
import { parseStreamName, selectorMatches, streamName, streamNamesOf, streamPath, type StreamSelector } from "./stream-name.ts";

describe("stream names", () => {
  it("parses every kind, keeping hyphens in the value", () => {
    expect(parseStreamName("all")).toEqual({ ok: true, name: "all", selector: { kind: "all" } });
    expect(parseStreamName("context-Underwriting")).toMatchObject({ ok: true, selector: { kind: "context", context: "Underwriting" } });
    expect(parseStreamName("definition-premium-quote")).toMatchObject({ ok: true, selector: { kind: "definition", definitionId: "premium-quote" } });
    expect(parseStreamName("instance-3f2a-11")).toMatchObject({ ok: true, selector: { kind: "instance", correlationId: "3f2a-11" } });
    expect(parseStreamName("stream-PremiumQuote-42")).toMatchObject({ ok: true, selector: { kind: "stream", streamId: "PremiumQuote-42" } });
  });

  it("round-trips through streamName", () => {
    const selectors: StreamSelector[] = [
      { kind: "all" },
      { kind: "context", context: "Risk assessment" },
      { kind: "definition", definitionId: "a/b" },
      { kind: "instance", correlationId: "c-1" },
      { kind: "stream", streamId: "Quote-7" },
    ];
    for (const selector of selectors) expect(parseStreamName(streamName(selector))).toMatchObject({ ok: true, selector });
  });

  it("refuses unknown kinds and empty values", () => {
    for (const name of ["", "everything", "context", "context-", "Context-x", "-x", "streams-x", "all-x"]) {
      const parsed = parseStreamName(name);
      expect(parsed.ok, name).toBe(false);
      if (!parsed.ok) expect(parsed.message).toMatch(/Unknown stream/);
    }
    expect(parseStreamName(`stream-${"x".repeat(1001)}`).ok).toBe(false);
  });

  it("percent-encodes the name as one path segment", () => {
    expect(streamPath("context-Risk assessment", "1-20")).toBe("/api/streams/context-Risk%20assessment/1-20");
    expect(streamPath("stream-a/b?c#d")).toBe("/api/streams/stream-a%2Fb%3Fc%23d");
    expect(decodeURIComponent(streamPath("stream-a/b").split("/")[3]!)).toBe("stream-a/b");
  });

  it("routes an event to every stream it belongs to, and only those", () => {
    const event = { streamId: "Quote-1", metadata: { context: "Underwriting", definitionId: "premium", correlationId: "run-9" } };
    const names = streamNamesOf(event);
    expect(names).toEqual(["all", "stream-Quote-1", "context-Underwriting", "definition-premium", "instance-run-9"]);
    for (const name of names) {
      const parsed = parseStreamName(name);
      if (!parsed.ok) throw new Error(parsed.message);
      expect(selectorMatches(parsed.selector, event)).toBe(true);
    }
    const bare = { streamId: "Quote-2", metadata: {} };
    expect(streamNamesOf(bare)).toEqual(["all", "stream-Quote-2"]);
    expect(selectorMatches({ kind: "context", context: "Underwriting" }, bare)).toBe(false);
    expect(selectorMatches({ kind: "stream", streamId: "Quote-1" }, bare)).toBe(false);
  });
});
