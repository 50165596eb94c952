/** Which instance an event reaches: one per process manager, named by the first correlation key that gives a value. */
import { describe, expect, it } from "vitest";
import { indexDefinition } from "./core/definition-index.ts";
import type { MessageMeta } from "./core/types.ts";
import { routeEvent } from "./routing.ts";
import { reminderDefinition, templateDefinition } from "./testing/boards.ts";
import type { LoadedVersion } from "./versions.ts";

function loaded(definition: ReturnType<typeof reminderDefinition>): LoadedVersion {
  return { id: `${definition.id}@1`, boardId: definition.id, version: 1, hash: "h", definition, index: indexDefinition(definition) };
}

const meta = (name: string, messageId: string, correlationId: string): MessageMeta => ({
  messageId,
  messageName: name,
  correlationId,
  causationId: correlationId,
  occurredAt: "2026-11-23T10:00:00.000Z",
  version: 1,
});

describe("routing events to process instances", () => {
  it("sends the start and the completion of a chain to the same instance even when a step declares another key", async () => {
    const version = loaded(reminderDefinition());
    const signedUp = version.index.eventsByName.get("SignedUp")!;
    const welcomeSent = version.index.eventsByName.get("WelcomeSent")!;
    const start = await routeEvent(version, { definition: signedUp, payload: { memberId: "m-1", email: "m@example.org" }, meta: meta("SignedUp", "start-1", "start-1") });
    const end = await routeEvent(version, { definition: welcomeSent, payload: { memberId: "m-1", email: "m@example.org" }, meta: meta("WelcomeSent", "sent-1", "start-1") });
    expect(start.map((message) => message.instanceId)).toEqual(["reminder@1:reminder:start-1"]);
    expect(end.map((message) => message.instanceId)).toEqual(["reminder@1:reminder:start-1"]);
  });

  it("parks what no key can route, with the evaluator's reason", async () => {
    const version = loaded(templateDefinition("insurance-quote"));
    const assessed = version.index.eventsByName.get("RiskAssessed")!;
    const [delivery] = await routeEvent(version, { definition: assessed, payload: { riskScore: 1 }, meta: meta("RiskAssessed", "m-1", "c-1") });
    expect(delivery).toMatchObject({ instanceId: null, streamKey: "insurance-quote:unroutable:m-1", metadata: { routingError: expect.stringContaining("correlation key for RiskAssessed") } });
  });
});
