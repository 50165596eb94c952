import { describe, expect, it } from "vitest";
import { openTestStorage, testStorageKinds } from "../db/testing.ts";
import { getRuntime } from "../runtime/runtime.ts";
import { templates } from "../templates/index.ts";
import { SAMPLE_SKUS } from "../templates/sample-data.ts";
import { exampleBoardId, exampleSetupMessageId, seedExamples } from "./seed.ts";

describe.each(testStorageKinds)("example processes on %s", (kind) => {
  it("are created published and deployed on an empty database, once", { timeout: 60_000 }, async () => {
    const storage = await openTestStorage(kind);
    try {
      const first = await seedExamples(storage);
      expect(first.created).toEqual(templates.map((t) => exampleBoardId(t.id)));
      const runtime = getRuntime(storage);
      for (const id of first.created) {
        const deployed = await runtime.deployedVersion(id);
        expect(deployed.version).toBe(1);
      }
      expect(await seedExamples(storage)).toEqual({ created: [], skipped: "not-empty" });
      expect(await storage.prisma.board.count()).toBe(templates.length);

      // The order example's stock is booked by real RestockItem commands, queued for the worker.
      const orders = templates.find((template) => template.id === "order-fulfilment")!;
      expect(orders.exampleSetup.map((step) => step.payload.sku)).toEqual([...SAMPLE_SKUS]);
      for (const index of orders.exampleSetup.keys()) {
        const outcome = await runtime.commandOutcome(exampleSetupMessageId("order-fulfilment", index));
        expect(["pending", "accepted"]).toContain(outcome.kind);
      }
    } finally {
      await getRuntime(storage).close();
      await storage.dispose();
    }
  });

  it("are not created when the user already has boards, even deleted ones", async () => {
    const storage = await openTestStorage(kind);
    try {
      await storage.prisma.board.create({ data: { id: "mine", name: "Mine", schemaVersion: 1, document: {}, deletedAt: new Date() } });
      expect(await seedExamples(storage)).toEqual({ created: [], skipped: "not-empty" });
    } finally {
      await storage.dispose();
    }
  });
});
