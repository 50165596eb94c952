import { describe, expect, it } from "vitest";
import type { RecordedEvent } from "../eventstore/index.ts";
import { toCloudEvent } from "./cloudevent.ts";

const CORE = new Set(["specversion", "id", "source", "type", "time", "datacontenttype", "subject", "data"]);

const recorded: RecordedEvent = {
  position: 1234,
  streamId: "PremiumQuote-7",
  streamVersion: 3,
  type: "QuoteGenerated",
  data: { premium: 120.5, lines: [{ cover: "fire" }] },
  metadata: {
    messageId: "8b5c0c0e-5b0e-4c1e-9f1e-1d2c3b4a5f6e",
    correlationId: "run-42",
    causationId: "cmd-9",
    definitionId: "application-premium",
    definitionVersion: 2,
    context: "Underwriting",
    recordedAt: "2026-11-23T10:00:00.000Z",
  },
};

describe("CloudEvents mapping", () => {
  it("maps a stored event to a CloudEvents 1.0 JSON event with extensions", () => {
    expect(toCloudEvent(recorded)).toEqual({
      specversion: "1.0",
      id: "8b5c0c0e-5b0e-4c1e-9f1e-1d2c3b4a5f6e",
      source: "/sagaboard/Underwriting",
      type: "QuoteGenerated",
      time: "2026-11-23T10:00:00.000Z",
      datacontenttype: "application/json",
      subject: "PremiumQuote-7",
      data: { premium: 120.5, lines: [{ cover: "fire" }] },
      position: 1234,
      stream: "PremiumQuote-7",
      streamversion: 3,
      correlationid: "run-42",
      causationid: "cmd-9",
      definitionid: "application-premium",
      definitionversion: 2,
    });
  });

  it("names extensions as CloudEvents requires: lower-case letters and digits, at most 20", () => {
    const names = Object.keys(toCloudEvent(recorded)).filter((name) => !CORE.has(name));
    expect(names.length).toBeGreaterThan(0);
    for (const name of names) expect(name).toMatch(/^[a-z0-9]{1,20}$/);
  });

  it("falls back to the stream for the source and leaves absent metadata out", () => {
    const bare = toCloudEvent({ ...recorded, streamId: "order 1/2", metadata: { messageId: "m-1", recordedAt: "2026-11-23T10:00:00.000Z" } });
    expect(bare.source).toBe("/sagaboard/order%201%2F2");
    expect(bare).not.toHaveProperty("correlationid");
    expect(bare).not.toHaveProperty("causationid");
    expect(bare).not.toHaveProperty("definitionid");
    expect(bare).not.toHaveProperty("definitionversion");
    expect(JSON.stringify(bare)).not.toContain("null");
  });

  it("encodes a context with URI-reserved characters in the source", () => {
    expect(toCloudEvent({ ...recorded, metadata: { ...recorded.metadata, context: "Risk & Rate" } }).source).toBe("/sagaboard/Risk%20%26%20Rate");
  });
});
