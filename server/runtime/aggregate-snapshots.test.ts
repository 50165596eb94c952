/**
 * Aggregates that keep snapshots: a command's first statement reads the snapshot with the events
 * after it, and the fold from there decides exactly as a fold from the first event would.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testStorageKinds } from "../db/testing.ts";
import { templateDefinition } from "./testing/boards.ts";
import { eventually, openHarness, publishAndDeploy, type Harness } from "./testing/harness.ts";

describe.each(testStorageKinds)("aggregate snapshots on %s", { timeout: 60_000 }, (kind) => {
  let harness: Harness;
  const definition = templateDefinition("user-registration");
  definition.aggregates.find((aggregate) => aggregate.name === "User")!.snapshotEvery = 2;

  beforeAll(async () => {
    harness = await openHarness(kind);
    await publishAndDeploy(harness.runtime, "snapshotted", definition);
  });
  afterAll(() => harness?.dispose());

  async function send(name: string, payload: Record<string, unknown>) {
    const { messageId } = await harness.runtime.sendCommand({ boardId: "snapshotted", name, payload });
    return eventually(async () => {
      const outcome = await harness.runtime.commandOutcome(messageId);
      return outcome.kind === "pending" ? undefined : outcome;
    }, `the outcome of ${name}`);
  }
  const snapshotVersion = async () =>
    (await harness.storage.sql.query<{ version: number }>(`SELECT version FROM snapshots WHERE stream_id = 'snapshotted:User:u-1'`)).rows[0]?.version ?? null;

  it("saves a snapshot every two versions and decides from it as from the whole stream", async () => {
    expect((await send("RegisterUser", { userId: "u-1", userName: "ada", password: "p0", email: "ada@example.org" })).kind).toBe("accepted");
    expect((await send("UpdatePassword", { userId: "u-1", newPassword: "p1", originalVersion: 1 })).kind).toBe("accepted");
    expect(await snapshotVersion()).toBeNull();
    // Loaded at version 2, two past no snapshot: it saves one at version 2.
    expect((await send("UpdatePassword", { userId: "u-1", newPassword: "p2", originalVersion: 2 })).kind).toBe("accepted");
    expect(await snapshotVersion()).toBe(2);
    // From the snapshot (version 2) and the event after it: the version the rule checks is 3.
    expect((await send("UpdatePassword", { userId: "u-1", newPassword: "stale", originalVersion: 2 })).kind).toBe("rejected");
    expect((await send("UpdatePassword", { userId: "u-1", newPassword: "p3", originalVersion: 3 })).kind).toBe("accepted");
    expect(await snapshotVersion()).toBe(2);
    expect((await send("UpdatePassword", { userId: "u-1", newPassword: "p4", originalVersion: 4 })).kind).toBe("accepted");
    expect(await snapshotVersion()).toBe(4);
    expect((await send("UpdatePassword", { userId: "u-1", newPassword: "p5", originalVersion: 5 })).kind).toBe("accepted");
    // Loaded at version 6, two past the snapshot: it saves one at 6, and (rejected) appends nothing after it.
    expect((await send("UpdatePassword", { userId: "u-1", newPassword: "stale", originalVersion: 1 })).kind).toBe("rejected");
    expect(await snapshotVersion()).toBe(6);
    // The snapshot alone, no event after it: still version 6.
    expect((await send("UpdatePassword", { userId: "u-1", newPassword: "p6", originalVersion: 6 })).kind).toBe("accepted");
    const stream = (await harness.storage.sql.query<{ type: string }>(`SELECT type FROM events WHERE stream_id = 'snapshotted:User:u-1' ORDER BY stream_version`)).rows;
    expect(stream.map((row) => row.type)).toEqual(["UserRegistered", ...Array.from({ length: 6 }, () => "PasswordUpdated")]);
  });
});
