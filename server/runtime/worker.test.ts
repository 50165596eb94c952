/**
 * The dispatcher with a poll that never comes in time: every wake-up it needs must come from
 * commits and from the messages it finishes.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testStorageKinds } from "../db/testing.ts";
import { reminderDefinition } from "./testing/boards.ts";
import { eventually, openHarness, publishAndDeploy, type Harness } from "./testing/harness.ts";

const BOARD = "reminder";

describe.each(testStorageKinds)("a worker that does not poll, on %s", { timeout: 60_000 }, (kind) => {
  let harness: Harness;

  beforeAll(async () => {
    harness = await openHarness(kind, { worker: { pollIntervalMs: 600_000 } });
    await publishAndDeploy(harness.runtime, BOARD, reminderDefinition());
  });
  afterAll(async () => {
    await harness?.dispose();
  });

  it("claims a stream's next message once the one ahead of it is handled", async () => {
    // The first command stays in hand while the second is queued behind it on the same mailbox.
    for (const context of await harness.runtime.contextSettings(BOARD)) {
      await harness.runtime.updateContextSettings(BOARD, context.contextId, { latencyMs: 300 });
    }
    const first = await harness.runtime.sendCommand({ boardId: BOARD, name: "SendWelcome", payload: { memberId: "m-1", email: "ada@example.com" } });
    const second = await harness.runtime.sendCommand({ boardId: BOARD, name: "SendWelcome", payload: { memberId: "m-1", email: "ada@example.org" } });
    const outcome = await eventually(
      async () => {
        const current = await harness.runtime.commandOutcome(second.messageId);
        return current.kind === "pending" ? undefined : current;
      },
      "the second SendWelcome to be handled",
      20_000,
    );
    expect(outcome).toMatchObject({ kind: "accepted", streamId: first.streamId });
    expect(await harness.runtime.commandOutcome(first.messageId)).toMatchObject({ kind: "accepted", streamId: first.streamId });
  });
});
