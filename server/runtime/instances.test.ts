/**
 * "stuck" means waiting longer than the process allows. A standing process (policies with no
 * completion event) waits for its next event by design, so its instances never become stuck.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migrateBoardDocument } from "../board/migrations.ts";
import { compileBoard } from "../compiler/compile.ts";
import { testStorageKinds } from "../db/testing.ts";
import type { ProcessDefinitionV1 } from "../definition/v1.ts";
import { BoardBuilder, payload } from "../templates/builder.ts";
import { eventually, ManualClock, openHarness, publishAndDeploy, type Harness } from "./testing/harness.ts";

/** A help desk: Asked → policy → Answer → Answered; with lifecycle, Asked starts and Answered completes it. */
function helpDesk(boardId: string, withLifecycle: boolean): ProcessDefinitionV1 {
  const board = new BoardBuilder();
  const desk = board.context("desk", "Desk");
  const experts = board.context("experts", "Experts");
  const ticket = payload({ ticketId: "string" });
  const ask = board.command(desk, "ask", "Ask", ticket);
  const asked = board.event(desk, "asked", "Asked", ticket, { visibility: "public", lifecycle: withLifecycle ? "start" : "none" });
  board.aggregate(desk, "ticket", "Ticket", { idExpression: "command.ticketId", state: [] });
  board.decide("ticket", ask, [{ emit: [{ event: asked, mapping: { ticketId: "command.ticketId" } }] }]);
  const answer = board.command(experts, "answer", "Answer", ticket);
  const answered = board.event(experts, "answered", "Answered", ticket, { visibility: "public", lifecycle: withLifecycle ? "complete" : "none" });
  board.aggregate(experts, "reply", "Reply", { idExpression: "command.ticketId", state: [] });
  board.decide("reply", answer, [{ emit: [{ event: answered, mapping: { ticketId: "command.ticketId" } }] }]);
  board.policy(experts, "answer-asked", "Answer asked", { on: [asked], issue: answer, correlationKey: "event.ticketId", mapping: { ticketId: "event.ticketId" } });
  board.actor(null, "customer", "Customer", [ask]);
  const compiled = compileBoard(migrateBoardDocument(board.build({})), { id: boardId, name: boardId });
  if (!compiled.definition) throw new Error(JSON.stringify(compiled.diagnostics.filter((diagnostic) => diagnostic.severity === "error")));
  return compiled.definition;
}

describe.each(testStorageKinds)("instance status on %s", { timeout: 60_000 }, (kind) => {
  const clock = new ManualClock();
  let harness: Harness;

  beforeAll(async () => {
    harness = await openHarness(kind, { clock });
  });
  afterAll(() => harness?.dispose());

  async function instanceOf(boardId: string, ticketId: string) {
    return eventually(async () => (await harness.runtime.listInstances({ boardId, limit: 10 })).instances.find((instance) => instance.correlationKey === ticketId), `an instance for ${ticketId}`);
  }

  it("is stuck when a process that can complete waits past its threshold", async () => {
    const definition = helpDesk("desk-with-lifecycle", true);
    await publishAndDeploy(harness.runtime, "desk-with-lifecycle", definition);
    await harness.runtime.updateContextSettings("desk-with-lifecycle", "experts", { down: true });
    await harness.runtime.sendCommand({ boardId: "desk-with-lifecycle", name: "Ask", payload: { ticketId: "t-1" } });
    const waiting = await instanceOf("desk-with-lifecycle", "t-1");
    expect(waiting.status).toBe("running");
    expect(waiting.stuckAfterMs).toBe(definition.processManagers[0]!.stuckAfterMs);

    clock.advance(definition.processManagers[0]!.stuckAfterMs + 1_000);
    expect((await instanceOf("desk-with-lifecycle", "t-1")).status).toBe("stuck");
    expect((await harness.runtime.listInstances({ boardId: "desk-with-lifecycle", status: "stuck", limit: 10 })).instances.map((instance) => instance.correlationKey)).toEqual(["t-1"]);
  });

  it("is never stuck for a standing process, which has no completion event", async () => {
    const definition = helpDesk("desk-standing", false);
    expect(definition.processManagers[0]!.completion).toEqual([]);
    await publishAndDeploy(harness.runtime, "desk-standing", definition);
    const sent = await harness.runtime.sendCommand({ boardId: "desk-standing", name: "Ask", payload: { ticketId: "t-2" } });
    await eventually(async () => {
      const outcome = await harness.runtime.commandOutcome(sent.messageId);
      return outcome.kind === "accepted" || undefined;
    }, "Ask handled");
    const standing = await eventually(async () => {
      const found = await instanceOf("desk-standing", "t-2");
      return found.stuckAfterMs === null ? found : undefined;
    }, "the standing instance");
    expect(standing.status).toBe("running");

    clock.advance(10 * definition.processManagers[0]!.stuckAfterMs);
    expect((await instanceOf("desk-standing", "t-2")).status).toBe("running");
    expect((await harness.runtime.listInstances({ boardId: "desk-standing", status: "stuck", limit: 10 })).instances).toEqual([]);
    expect((await harness.runtime.listInstances({ boardId: "desk-standing", status: "running", limit: 10 })).instances.map((instance) => instance.correlationKey)).toEqual(["t-2"]);
  });
});
