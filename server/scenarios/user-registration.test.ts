/**
 * SEEDS 003: optimistic concurrency on the User aggregate under a burst of competing updates,
 * and the law of idempotency: replaying the stream gives the same state every time.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testStorageKinds } from "../db/testing.ts";
import { readStream } from "../eventstore/index.ts";
import { aggregateDecider, type AggregateState, type CommandOutcome } from "../runtime/index.ts";
import { openHarness, type Harness } from "../runtime/testing/harness.ts";
import { compileTemplate, eventually, publishAndDeploy } from "./scenario.ts";

describe.each(testStorageKinds)("user registration on %s", { timeout: 90_000 }, (kind) => {
  let harness: Harness;
  const definition = compileTemplate("user-registration", "accounts");

  beforeAll(async () => {
    harness = await openHarness(kind);
    await publishAndDeploy(harness.runtime, "accounts", definition);
  });
  afterAll(() => harness?.dispose());

  const settled = (messageId: string) =>
    eventually(async () => {
      const outcome = await harness.runtime.commandOutcome(messageId);
      return outcome.kind === "pending" ? undefined : outcome;
    }, `the outcome of ${messageId}`, 30_000);

  async function replay(): Promise<AggregateState> {
    const aggregate = definition.aggregates.find((candidate) => candidate.name === "User")!;
    const decider = aggregateDecider(aggregate);
    let state = decider.initialState();
    for (const event of (await readStream(harness.storage.sql, "accounts:User:u-7")).events) {
      const definitionEvent = definition.events.find((candidate) => candidate.name === event.type)!;
      state = await decider.evolve(state, { event: { id: definitionEvent.id, name: definitionEvent.name }, payload: event.data as Record<string, unknown> });
    }
    return state;
  }

  it("of five concurrent UpdatePassword on the same version exactly one succeeds; replaying the stream gives the same state", async () => {
    const registered = await harness.runtime.sendCommand({ boardId: "accounts", name: "RegisterUser", payload: { userId: "u-7", userName: "grace", password: "p0", email: "grace@example.org" } });
    expect((await settled(registered.messageId)).kind).toBe("accepted");

    const passwords = ["p1", "p2", "p3", "p4", "p5"];
    const sent = await Promise.all(
      passwords.map((newPassword) => harness.runtime.sendCommand({ boardId: "accounts", name: "UpdatePassword", payload: { userId: "u-7", newPassword, originalVersion: 1 } })),
    );
    const outcomes: CommandOutcome[] = await Promise.all(sent.map((update) => settled(update.messageId)));
    expect(outcomes.filter((outcome) => outcome.kind === "accepted")).toHaveLength(1);
    const rejected = outcomes.filter((outcome): outcome is Extract<CommandOutcome, { kind: "rejected" }> => outcome.kind === "rejected");
    expect(rejected.map((outcome) => outcome.code)).toEqual(["concurrency", "concurrency", "concurrency", "concurrency"]);
    const winner = passwords[outcomes.findIndex((outcome) => outcome.kind === "accepted")]!;

    const stream = await readStream(harness.storage.sql, "accounts:User:u-7");
    expect(stream.events.map((event) => event.type)).toEqual(["UserRegistered", "PasswordUpdated"]);
    const first = await replay();
    const second = await replay();
    expect(second).toEqual(first);
    expect(first.fields).toMatchObject({ registered: true, userName: "grace", passwordHash: winner, passwordChanges: 1 });

    // The next update, based on the version the winner produced, is accepted.
    const next = await harness.runtime.sendCommand({ boardId: "accounts", name: "UpdatePassword", payload: { userId: "u-7", newPassword: "p9", originalVersion: 2 } });
    expect((await settled(next.messageId)).kind).toBe("accepted");
    expect((await replay()).fields).toMatchObject({ passwordHash: "p9", passwordChanges: 2 });
  });
});
