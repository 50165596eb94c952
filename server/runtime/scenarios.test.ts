/**
 * The shipped templates end to end: a board stored, compiled and published, deployed, started,
 * and run by a worker to completion.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testStorageKinds } from "../db/testing.ts";
import { readStream } from "../eventstore/index.ts";
import { findTemplate } from "../templates/index.ts";
import { eventually, openHarness, type Harness } from "./testing/harness.ts";
import type { CommandOutcome } from "./runtime.ts";

async function storeTemplateBoard(harness: Harness, boardId: string, templateId: string) {
  const template = findTemplate(templateId)!;
  await harness.storage.prisma.board.create({
    data: { id: boardId, name: template.name, description: template.description, templateId, schemaVersion: template.board.schemaVersion, document: template.board as object },
  });
  const { version } = await harness.runtime.publishBoard(boardId);
  return harness.runtime.deploy(boardId, version.version);
}

const application = (applicationId: string, sumInsured: number) => ({
  applicationId,
  applicant: { firstName: "Ada", lastName: "Lovelace", dateOfBirth: "1815-12-10", postcode: "W1" },
  coverage: { product: "home", sumInsured, deductible: 1000, startDate: "2027-01-01T00:00:00.000Z" },
  submittedAt: "2026-11-23T10:00:00.000Z",
});

describe.each(testStorageKinds)("templates end to end on %s", (kind) => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await openHarness(kind);
  });
  afterAll(() => harness.dispose());

  it("insurance quote: ApplicationSubmitted → AssessRisk → CalculateRate → GenerateQuote → QuoteGenerated completes", async () => {
    const deployed = await storeTemplateBoard(harness, "insurance", "insurance-quote");
    expect(deployed).toMatchObject({ version: 1, deployed: true });
    const started = await harness.runtime.start({ boardId: "insurance", payload: application("APP-1", 300_000) });
    expect(started).toMatchObject({ versionId: "insurance@1", correlationKey: "APP-1", duplicate: false });

    const detail = await eventually(async () => {
      const found = await harness.runtime.getInstance(started.instanceId).catch(() => undefined);
      return found?.instance.status === "completed" ? found : undefined;
    }, "the quote process to complete");

    expect(detail.history.filter((record) => record.type === "$CommandIssued").map((record) => (record.data as { command: { name: string } }).command.name)).toEqual([
      "AssessRisk",
      "CalculateRate",
      "GenerateQuote",
    ]);
    expect(detail.history.filter((record) => record.type === "$MessageReceived").map((record) => (record.data as { event: { name: string } }).event.name)).toEqual([
      "ApplicationSubmitted",
      "RiskAssessed",
      "RateCalculated",
      "QuoteGenerated",
    ]);
    expect(detail.pending).toEqual([]);
    expect(detail.state.events.QuoteGenerated).toMatchObject({ quoteId: "APP-1-Q", currency: "EUR", totalAnnualPremium: expect.any(Number) });

    const quote = await readStream(harness.storage.sql, "insurance:PremiumQuote:APP-1-Q");
    expect(quote.events.map((event) => event.type)).toEqual(["QuoteGenerated"]);
    expect(quote.events[0]!.metadata).toMatchObject({ correlationId: started.correlationId, definitionId: "insurance", definitionVersion: 1, context: "Underwriting" });

    // The log is read below the oldest running transaction's horizon: wait until it has passed.
    const timeline = await eventually(async () => {
      const slice = await harness.runtime.store.readByCorrelation(started.correlationId);
      return slice.events.some((event) => event.type === "QuoteGenerated") ? slice : undefined;
    }, "the whole timeline");
    expect(timeline.events.filter((event) => !event.type.startsWith("$")).map((event) => event.type)).toEqual([
      "ApplicationSubmitted",
      "RiskAssessed",
      "RateCalculated",
      "QuoteGenerated",
    ]);
    const listed = await harness.runtime.listInstances({ boardId: "insurance", status: "completed", limit: 10 });
    expect(listed.instances.map((instance) => instance.id)).toEqual([started.instanceId]);
  });

  it("insurance quote: RiskDeclined fails the process", async () => {
    const started = await harness.runtime.start({ boardId: "insurance", payload: application("APP-BIG", 6_000_000) });
    const detail = await eventually(async () => {
      const found = await harness.runtime.getInstance(started.instanceId).catch(() => undefined);
      return found?.instance.status === "failed" ? found : undefined;
    }, "the quote process to fail");
    expect(detail.instance.reason).toBe("RiskDeclined received");
    expect(detail.history.filter((record) => record.type === "$CommandIssued")).toHaveLength(1);
  });

  it("user registration: two concurrent UpdatePassword with the same version, exactly one succeeds", async () => {
    await storeTemplateBoard(harness, "users", "user-registration");
    const registered = await harness.runtime.sendCommand({ boardId: "users", name: "RegisterUser", payload: { userId: "u-1", userName: "ada", password: "h0", email: "ada@example.org" } });
    await eventually(async () => ((await harness.runtime.commandOutcome(registered.messageId)).kind === "accepted" ? true : undefined), "the registration");

    const updates = await Promise.all(
      ["h1", "h2"].map((newPassword) => harness.runtime.sendCommand({ boardId: "users", name: "UpdatePassword", payload: { userId: "u-1", newPassword, originalVersion: 1 } })),
    );
    const outcomes = await Promise.all(
      updates.map((update) =>
        eventually(async () => {
          const outcome = await harness.runtime.commandOutcome(update.messageId);
          return outcome.kind === "pending" ? undefined : outcome;
        }, "the update's outcome"),
      ),
    );
    const kinds = outcomes.map((outcome: CommandOutcome) => outcome.kind).sort();
    expect(kinds).toEqual(["accepted", "rejected"]);
    const rejected = outcomes.find((outcome) => outcome.kind === "rejected") as Extract<CommandOutcome, { kind: "rejected" }>;
    expect(rejected.code).toBe("concurrency");
    expect(rejected.reason).toMatch(/based on version 1 .* now at version 2/);

    const user = await readStream(harness.storage.sql, "users:User:u-1");
    expect(user.events.map((event) => event.type)).toEqual(["UserRegistered", "PasswordUpdated"]);
    const rejections = await readStream(harness.storage.sql, "users:User:u-1:rejections");
    expect(rejections.events).toEqual([expect.objectContaining({ type: "$CommandRejected", data: expect.objectContaining({ code: "concurrency", command: "UpdatePassword" }) })]);
  });

  it("user registration: a rule rejects a duplicate registration with its reason", async () => {
    const again = await harness.runtime.sendCommand({ boardId: "users", name: "RegisterUser", payload: { userId: "u-1", userName: "ada", password: "h0", email: "ada@example.org" } });
    const outcome = await eventually(async () => {
      const found = await harness.runtime.commandOutcome(again.messageId);
      return found.kind === "pending" ? undefined : found;
    }, "the second registration's outcome");
    expect(outcome).toEqual({ kind: "rejected", code: "rule", reason: "A user with this id is already registered.", streamId: "users:User:u-1" });
  });
});
