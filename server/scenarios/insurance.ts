/** The insurance quote scenario, shared by the orchestrated and the choreographed template. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testStorageKinds } from "../db/testing.ts";
import { readStream } from "../eventstore/index.ts";
import { openHarness, type Harness } from "../runtime/testing/harness.ts";
import { compileTemplate, eventually, publishAndDeploy } from "./scenario.ts";

export const application = (applicationId: string, sumInsured: number) => ({
  applicationId,
  applicant: { firstName: "Ada", lastName: "Lovelace", dateOfBirth: "1815-12-10", postcode: "W1" },
  coverage: { product: "home", sumInsured, deductible: 1000, startDate: "2027-01-01T00:00:00.000Z" },
  submittedAt: "2026-11-23T10:00:00.000Z",
});

export function insuranceScenario(templateId: "insurance-quote" | "insurance-quote-choreography", stepContexts: Record<string, string>): void {
  describe.each(testStorageKinds)(`${templateId} on %s`, { timeout: 120_000 }, (kind) => {
    let harness: Harness;
    const boardId = templateId === "insurance-quote" ? "quotes" : "choreo";
    const definition = compileTemplate(templateId, boardId);

    beforeAll(async () => {
      harness = await openHarness(kind);
      await publishAndDeploy(harness.runtime, boardId, definition);
    });
    afterAll(() => harness?.dispose());

    it("issues each command from the context the board puts its step in", () => {
      const steps = definition.processManagers.flatMap((process) => process.steps.map((step) => [step.send?.command.name, step.context?.name]));
      expect(Object.fromEntries(steps)).toEqual(stepContexts);
    });

    it("completes applications with a quote; with Risk down they wait, and all complete once it is back", async () => {
      const first = await harness.runtime.start({ boardId, payload: application("APP-1", 300_000) });
      await eventually(async () => (await harness.runtime.getInstance(first.instanceId)).instance.status === "completed" || undefined, "the first quote", 60_000);
      const quote = await readStream(harness.storage.sql, `${boardId}:PremiumQuote:APP-1-Q`);
      expect(quote.events.map((event) => [event.type, event.metadata.context])).toEqual([["QuoteGenerated", "Underwriting"]]);

      await harness.runtime.updateContextSettings(boardId, "risk", { down: true });
      const waiting = [];
      for (let index = 2; index <= 4; index++) waiting.push(await harness.runtime.start({ boardId, payload: application(`APP-${index}`, 200_000 + index * 1000) }));
      // While Risk is down its commands wait in the outbox without using up attempts.
      await eventually(async () => {
        const { rows } = await harness.storage.sql.query<{ count: number }>(
          `SELECT count(*)::int AS count FROM runtime_outbox WHERE board_id = $1 AND type = 'AssessRisk' AND status = 'pending' AND attempts = 0`,
          [boardId],
        );
        return rows[0]!.count === waiting.length || undefined;
      }, "AssessRisk for every waiting application", 30_000);
      await new Promise((resolve) => setTimeout(resolve, 1000));
      for (const started of waiting) {
        const detail = await harness.runtime.getInstance(started.instanceId);
        expect(detail.instance.status).toBe("running");
        expect(detail.history.some((record) => record.type === "$MessageReceived" && (record.data as { event: { name: string } }).event.name === "RiskAssessed")).toBe(false);
      }

      await harness.runtime.updateContextSettings(boardId, "risk", { down: false });
      for (const started of waiting) {
        const detail = await eventually(async () => {
          const found = await harness.runtime.getInstance(started.instanceId);
          return found.instance.status === "completed" ? found : undefined;
        }, `${started.correlationKey} to complete once Risk is back`, 60_000);
        expect(detail.state.events.QuoteGenerated).toMatchObject({ quoteId: `${started.correlationKey}-Q`, totalAnnualPremium: expect.any(Number) });
      }
      const { rows } = await harness.storage.sql.query<{ count: number }>(`SELECT count(*)::int AS count FROM runtime_outbox WHERE board_id = $1 AND status = 'parked'`, [boardId]);
      expect(rows[0]!.count).toBe(0);
    });
  });
}
