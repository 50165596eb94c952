import { describe, expect, it } from "vitest";
import { findTemplate } from "../../templates/index.ts";
import { compiled } from "../testing/boards.ts";
import { indexDefinition } from "./definition-index.ts";
import type { ProcessInput } from "./process.ts";
import { processSpecification } from "./spec.ts";

const NOW = new Date("2026-11-23T10:00:00.000Z");
const template = findTemplate("batch-allocation")!;
const allocation = compiled(template.board, template.id, template.name);
const policies = allocation.processManagers[0]!;

function lineDeallocated(messageId: string, payload: Record<string, unknown>): ProcessInput {
  return eventInput("LineDeallocated", messageId, payload);
}

function eventInput(name: string, messageId: string, payload: Record<string, unknown>): ProcessInput {
  const event = allocation.events.find((candidate) => candidate.name === name)!;
  return {
    kind: "event",
    messageId,
    event: { id: event.id, name: event.name },
    payload,
    meta: { messageId, messageName: name, correlationId: "corr-1", causationId: "corr-1", occurredAt: NOW.toISOString(), version: 4 },
  };
}

describe("Policies without a start event (batch-allocation template)", () => {
  const spec = processSpecification({ process: policies, index: indexDefinition(allocation), instanceId: "i-corr-1", correlationKey: "corr-1" }, NOW);
  const first = lineDeallocated("m-1", { orderid: "o1", sku: "LAMP", qty: 10, batchref: "b1", newQty: 5 });

  it("has no start event, so the test exercises the case it is about", () => {
    expect(policies.start).toEqual([]);
    expect(policies.steps.map((step) => step.name).sort()).toEqual(["Keep reducing batch", "Reallocate line"]);
  });

  it("begins the instance on an event that triggers a policy, and runs every policy it triggers", () =>
    spec()
      .when(first)
      .thenCheck((decision) => {
        expect(decision.status).toEqual({ from: "idle", to: "running", reason: "started by LineDeallocated" });
        expect(decision.records.map((record) => record.type)).toEqual(["$ProcessStarted", "$StatusChanged", "$MessageReceived", "$CommandIssued", "$CommandIssued"]);
        expect(decision.commands.map((command) => [command.command.name, command.payload]).sort()).toEqual([
          ["Allocate", { orderid: "o1", sku: "LAMP", qty: 10 }],
          ["ChangeBatchQuantity", { batchref: "b1", qty: 5 }],
        ]);
      }));

  it("runs the policies again for the next triggering event of the same correlation value", () =>
    spec(first)
      .when(lineDeallocated("m-2", { orderid: "o2", sku: "LAMP", qty: 3, batchref: "b1", newQty: 5 }))
      .thenCheck((decision) => {
        expect(decision.status).toBeNull();
        expect(decision.commands.map((command) => [command.command.name, command.payload]).sort()).toEqual([
          ["Allocate", { orderid: "o2", sku: "LAMP", qty: 3 }],
          ["ChangeBatchQuantity", { batchref: "b1", qty: 5 }],
        ]);
        expect(new Set(decision.commands.map((command) => command.messageId)).size).toBe(2);
      }));

  it("ignores an event that only answers a policy while no instance exists", () =>
    spec()
      .when(eventInput("Allocated", "m-3", { orderid: "o1", sku: "LAMP", qty: 10, batchref: "b2" }))
      .then({ records: [], commands: [], timersToSet: [], timersToCancel: [], status: null }));
});
