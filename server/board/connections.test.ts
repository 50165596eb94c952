import { describe, expect, it } from "vitest";
import { connectionVerdict } from "./connections.ts";
import { nodeKinds, type NodeKind } from "./document.ts";

describe("connection rules", () => {
  it.each([
    ["command", "aggregate", "handles"],
    ["aggregate", "event", "emits"],
    ["event", "policy", "triggers"],
    ["policy", "command", "issues"],
    ["event", "readModel", "projects"],
    ["event", "timer", "schedules"],
    ["timer", "policy", "fires"],
    ["actor", "command", "invokes"],
    ["event", "externalSystem", "delivers"],
    ["command", "externalSystem", "delivers"],
    ["externalSystem", "command", "receives"],
    ["externalSystem", "event", "receives"],
  ] as const)("%s → %s means %s", (source, target, meaning) => {
    expect(connectionVerdict(source, target)).toEqual({ ok: true, meaning });
  });

  it("explains the connections people try most often", () => {
    expect(connectionVerdict("event", "command")).toEqual({ ok: false, reason: "an event cannot issue a command; put a policy between them" });
    expect(connectionVerdict("command", "event")).toMatchObject({ ok: false, reason: expect.stringContaining("put an aggregate between them") });
    expect(connectionVerdict("policy", "event")).toMatchObject({ ok: false, reason: expect.stringContaining("connect it to a command") });
  });

  it("refuses every connection to or from a context, saying contexts are containers", () => {
    for (const kind of nodeKinds) {
      expect(connectionVerdict("context", kind)).toMatchObject({ ok: false, reason: expect.stringContaining("contexts are containers") });
      expect(connectionVerdict(kind, "context")).toMatchObject({ ok: false, reason: expect.stringContaining("contexts are containers") });
    }
  });

  it("names both kinds with the right article when there is no specific advice", () => {
    expect(connectionVerdict("readModel", "actor")).toEqual({ ok: false, reason: "a read model cannot connect to an actor" });
    expect(connectionVerdict("timer", "externalSystem")).toEqual({ ok: false, reason: "a timer cannot connect to an external system" });
  });

  it("gives a reason for every refused pair and a meaning for every accepted one", () => {
    let accepted = 0;
    for (const source of nodeKinds) {
      for (const target of nodeKinds) {
        const verdict = connectionVerdict(source as NodeKind, target as NodeKind);
        if (verdict.ok) accepted++;
        else expect(verdict.reason.length).toBeGreaterThan(10);
      }
    }
    expect(accepted).toBe(12);
  });
});
