import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testStorageKinds } from "../db/testing.ts";
import { appendToStream, listProjections, projectionLag, projectorsOf, queryReadModel } from "../eventstore/index.ts";
import { compileTemplate } from "../scenarios/scenario.ts";
import { application } from "../scenarios/insurance.ts";
import { ReadModelProjections } from "./read-model-projections.ts";
import { eventually, openHarness, publishAndDeploy, type Harness } from "./testing/harness.ts";

const QUOTES = "quotes.QuotesByApplication";
const PRODUCTS = "catalog.Products";

describe.each(testStorageKinds)("read models of deployed definitions on %s", { timeout: 120_000 }, (kind) => {
  let harness: Harness;
  let projections: ReadModelProjections;
  const errors: unknown[] = [];
  const rows = async (projection: string) => (await queryReadModel<Record<string, unknown>>(harness.storage.sql, projection, { limit: 100 })).rows;

  beforeAll(async () => {
    harness = await openHarness(kind);
    await publishAndDeploy(harness.runtime, "quotes", compileTemplate("insurance-quote", "quotes"));
    await publishAndDeploy(harness.runtime, "catalog", compileTemplate("product-catalog-cqrs", "catalog"));
    projections = new ReadModelProjections(harness.runtime.store, { pollIntervalMs: 100, projectorPollIntervalMs: 50, onError: (error) => errors.push(error) }).start();
  });
  afterAll(async () => {
    await projections?.close();
    await harness?.dispose();
  });

  it("fills the insurance quotes view with the application's row once its instance completed", async () => {
    const started = await harness.runtime.start({ boardId: "quotes", payload: application("APP-1", 300_000) });
    await eventually(async () => (await harness.runtime.getInstance(started.instanceId)).instance.status === "completed" || undefined, "the quote", 60_000);
    const quoted = await eventually(async () => (await rows(QUOTES)).find((row) => row.data.status === "quoted"), "the quoted row");
    expect(quoted.key).toBe("APP-1");
    expect(quoted.data).toEqual({
      applicationId: "APP-1",
      applicantName: "Ada Lovelace",
      product: "home",
      status: "quoted",
      riskBand: expect.any(String),
      currency: expect.any(String),
      quoteId: "APP-1-Q",
      totalAnnualPremium: expect.any(Number),
      updatedAt: expect.any(String),
    });
    expect(await rows(QUOTES)).toHaveLength(1);
    expect((await listProjections(harness.storage.sql)).map((projection) => projection.name)).toEqual(expect.arrayContaining([QUOTES, PRODUCTS]));
    expect(await projectionLag(harness.storage.sql, QUOTES)).toMatchObject({ behind: 0 });
    expect(errors).toEqual([]);
  });

  it("shapes the product catalog view as {name, code, lastUpdated}, and moves lastUpdated on a stock change", async () => {
    await harness.runtime.sendCommand({ boardId: "catalog", name: "InsertProduct", payload: { name: " Desk ", sku: "D-1", stockCount: 3 } });
    const inserted = await eventually(async () => (await rows(PRODUCTS)).find((row) => row.key === "D-1"), "the product row");
    expect(inserted.data).toEqual({ name: "Desk", code: "D-1", lastUpdated: expect.any(String) });
    await harness.runtime.sendCommand({ boardId: "catalog", name: "ChangeStockCount", payload: { sku: "D-1", stockCount: 1 } });
    const changed = await eventually(async () => (await rows(PRODUCTS)).find((row) => row.key === "D-1" && row.version === 2), "the stock change");
    expect(Object.keys(changed.data).sort()).toEqual(["code", "lastUpdated", "name"]);
    expect(Date.parse(changed.data.lastUpdated as string)).toBeGreaterThanOrEqual(Date.parse(inserted.data.lastUpdated as string));
    // Quotes' events carry other names and another board: none of them became a product.
    expect((await rows(PRODUCTS)).map((row) => row.key)).toEqual(["D-1"]);
  });

  it("gives the same rows after a rebuild", async () => {
    const before = await rows(QUOTES);
    const projector = projectorsOf(harness.storage.sql).get(QUOTES);
    expect(projector).toBeDefined();
    const progress = await projector!.rebuild().done;
    expect(progress.status).toBe("done");
    expect(await rows(QUOTES)).toEqual(before);
  });

  it("stops updating a view once its board is undeployed, and the next deploy takes it over where it stood", async () => {
    await harness.runtime.undeploy("catalog", 1);
    await eventually(async () => !projections.projectionNames.includes(PRODUCTS) || undefined, "the products projector to stop");
    expect(projectorsOf(harness.storage.sql).has(PRODUCTS)).toBe(false);
    expect(projections.projectionNames).toContain(QUOTES);

    await appendToStream(harness.storage.sql, "catalog:Product:L-1", [
      { type: "ProductInserted", data: { name: "Lamp", sku: "L-1", stockCount: 2, insertedAt: "2026-11-23T10:00:00.000Z" }, metadata: { definitionId: "catalog", definitionVersion: 1 } },
    ]);
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect((await rows(PRODUCTS)).map((row) => row.key)).toEqual(["D-1"]);

    await harness.runtime.deploy("catalog", 1);
    const lamp = await eventually(async () => (await rows(PRODUCTS)).find((row) => row.key === "L-1"), "the lamp once deployed again");
    expect(lamp.data).toEqual({ name: "Lamp", code: "L-1", lastUpdated: "2026-11-23T10:00:00.000Z" });
  });
});
