/**
 * Every template from the process list to a finished run: created on /processes through the UI,
 * published, deployed and run through the runtime's tRPC procedures over HTTP (superjson:
 * `{"json": input}`), the outcome read back from the runtime (and, for Redis, off the broker).
 */
import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { expect, test, type APIRequestContext, type Page } from "@playwright/test";

async function mutate<T>(request: APIRequestContext, path: string, input: unknown): Promise<T> {
  const response = await request.post(`/api/trpc/${path}`, { data: { json: input } });
  const body = await response.json();
  expect(response.ok(), `${path}: ${JSON.stringify(body).slice(0, 500)}`).toBe(true);
  return body.result.data.json as T;
}

async function query<T>(request: APIRequestContext, path: string, input: unknown): Promise<T> {
  const response = await request.get(`/api/trpc/${path}?input=${encodeURIComponent(JSON.stringify({ json: input }))}`);
  const body = await response.json();
  expect(response.ok(), `${path}: ${JSON.stringify(body).slice(0, 500)}`).toBe(true);
  return body.result.data.json as T;
}

interface Instance {
  id: string;
  status: string;
  correlationKey: string;
}

/** Creates the process from its template on /processes, then publishes and deploys it. */
async function deployFromTemplate(page: Page, templateName: string): Promise<string> {
  await page.goto("/processes");
  await page.getByRole("button", { name: `Use template ${templateName}`, exact: true }).click();
  await page.waitForURL(/\/processes\/[0-9a-f-]{36}$/);
  const boardId = new URL(page.url()).pathname.split("/").pop()!;
  const published = await mutate<{ version: { version: number } }>(page.request, "runtime.publish", { boardId });
  await mutate(page.request, "runtime.deploy", { boardId, version: published.version.version });
  return boardId;
}

async function instanceSettles(request: APIRequestContext, boardId: string, correlationKey: string, status: string) {
  await expect
    .poll(async () => (await query<{ instances: Instance[] }>(request, "runtime.instances", { boardId, correlationKey })).instances.map((instance) => instance.status), {
      timeout: 40_000,
      intervals: [250, 500, 1000],
    })
    .toEqual([status]);
}

async function commandSettles(request: APIRequestContext, messageId: string, kind: "accepted" | "rejected") {
  await expect.poll(async () => (await query<{ kind: string }>(request, "runtime.commandOutcome", { messageId })).kind, { timeout: 30_000, intervals: [250, 500, 1000] }).toBe(kind);
}

const application = (applicationId: string) => ({
  applicationId,
  applicant: { firstName: "Ada", lastName: "Lovelace", dateOfBirth: "1815-12-10", postcode: "W1" },
  coverage: { product: "home", sumInsured: 250_000, deductible: 1000, startDate: "2027-01-01T00:00:00.000Z" },
  submittedAt: "2026-11-23T10:00:00.000Z",
});

for (const templateName of ["Application Premium Process", "Application Premium Process (choreographed)"]) {
  test(`${templateName}: an application started on the deployed version completes with a quote`, async ({ page }) => {
    const boardId = await deployFromTemplate(page, templateName);
    const key = `APP-${randomUUID().slice(0, 8)}`;
    await mutate(page.request, "runtime.start", { boardId, payload: application(key) });
    await instanceSettles(page.request, boardId, key, "completed");
  });
}

/** What Orders' own view of stock shows for a SKU; null until its projector has the row. */
async function stockOnHand(request: APIRequestContext, boardId: string, sku: string): Promise<number | null> {
  const input = { projection: `${boardId}.StockLevels`, filter: [{ field: "sku", op: "eq", value: sku }] };
  const response = await request.get(`/api/trpc/eventstore.readModel?input=${encodeURIComponent(JSON.stringify({ json: input }))}`);
  // Not found until the deployed version's projector has started.
  if (!response.ok()) return null;
  const rows = (await response.json()).result.data.json.rows as { data: { onHand: number } }[];
  return rows[0]?.data.onHand ?? null;
}

test("Order fulfilment: an order within restocked stock is confirmed and shipped, one beyond it is rejected up front", async ({ page }) => {
  const boardId = await deployFromTemplate(page, "Order fulfilment");
  const sku = `LAMP-${randomUUID().slice(0, 8)}`;
  // The warehouse books stock from the editor's Run panel, as an actor would.
  await page.getByRole("tab", { name: "Run" }).click();
  const commandForm = page.getByTestId("command-form");
  await commandForm.getByText("Send a command").click();
  await commandForm.getByLabel("Command to send").selectOption({ label: "RestockItem (Inventory)" });
  await commandForm.getByLabel(/^sku/).fill(sku);
  await commandForm.getByLabel(/^quantity/).fill("5");
  await commandForm.getByRole("button", { name: "Send RestockItem" }).click();
  await expect(commandForm.getByTestId("command-result")).toHaveText("Accepted: ItemRestocked.", { timeout: 20_000 });
  await expect.poll(() => stockOnHand(page.request, boardId, sku), { timeout: 30_000, intervals: [250, 500, 1000] }).toBe(5);

  const orderId = `o-${randomUUID().slice(0, 8)}`;
  await mutate(page.request, "runtime.sendCommand", { boardId, name: "PlaceOrder", payload: { orderId, customerId: "c-1", lines: [{ sku, quantity: 2, unitPrice: 40 }] } });
  await instanceSettles(page.request, boardId, orderId, "completed");

  const tooMany = `o-${randomUUID().slice(0, 8)}`;
  await mutate(page.request, "runtime.sendCommand", { boardId, name: "PlaceOrder", payload: { orderId: tooMany, customerId: "c-1", lines: [{ sku, quantity: 6, unitPrice: 40 }] } });
  await instanceSettles(page.request, boardId, tooMany, "failed");
});

test("User registration: a registration is accepted and a stale password update is rejected as a conflict", async ({ page }) => {
  const boardId = await deployFromTemplate(page, "User registration");
  const userId = `u-${randomUUID().slice(0, 8)}`;
  const registered = await mutate<{ messageId: string }>(page.request, "runtime.sendCommand", { boardId, name: "RegisterUser", payload: { userId, userName: "ada", password: "h0", email: "ada@example.org" } });
  await commandSettles(page.request, registered.messageId, "accepted");
  const fresh = await mutate<{ messageId: string }>(page.request, "runtime.sendCommand", { boardId, name: "UpdatePassword", payload: { userId, newPassword: "h1", originalVersion: 1 } });
  await commandSettles(page.request, fresh.messageId, "accepted");
  const stale = await mutate<{ messageId: string }>(page.request, "runtime.sendCommand", { boardId, name: "UpdatePassword", payload: { userId, newPassword: "h2", originalVersion: 1 } });
  await commandSettles(page.request, stale.messageId, "rejected");
});

test("Product catalog: a product is inserted, the supplier feed is subscribed on NATS and the stock queue on a Redis stream", async ({ page }) => {
  const boardId = await deployFromTemplate(page, "Product catalog (CQRS over NATS)");
  const sku = `SKU-${randomUUID().slice(0, 8)}`;
  const inserted = await mutate<{ messageId: string }>(page.request, "runtime.sendCommand", { boardId, name: "InsertProduct", payload: { name: "Lamp", sku, stockCount: 4 } });
  await commandSettles(page.request, inserted.messageId, "accepted");
  await expect
    .poll(
      async () =>
        (await query<{ bindings: { boardId: string; direction: string; kind: string; subscription: { state: string } | null }[] }>(page.request, "buses.status", {})).bindings
          .filter((binding) => binding.boardId === boardId && binding.direction === "inbound")
          .map((binding) => [binding.kind, binding.subscription?.state])
          .sort(),
      { timeout: 20_000 },
    )
    .toEqual([
      ["nats", "subscribed"],
      ["redis", "subscribed"],
    ]);

  await page.goto("/settings");
  const binding = page.getByTestId("bus-binding").filter({ hasText: boardId }).filter({ hasText: "supplier.products.*" });
  await expect(binding).toHaveAttribute("data-state", "connected");
  await expect(binding).toContainText("subscribed");
});

test("Batch allocation: an allocation is published as Allocated on the line_allocated Redis channel", async ({ page }) => {
  const boardId = await deployFromTemplate(page, "Batch allocation (Redis)");
  const orderid = `o-${randomUUID().slice(0, 8)}`;
  const subscriber = new Redis(process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379", { lazyConnect: true, maxRetriesPerRequest: 1 });
  const heard: { type: string; data: Record<string, unknown> }[] = [];
  try {
    await subscriber.connect();
    subscriber.on("message", (_channel: string, raw: string) => void heard.push(JSON.parse(raw)));
    await subscriber.subscribe("line_allocated");
    const batch = await mutate<{ messageId: string }>(page.request, "runtime.sendCommand", { boardId, name: "AddBatch", payload: { batchref: `b-${orderid}`, sku: `SKU-${orderid}`, qty: 20 } });
    await commandSettles(page.request, batch.messageId, "accepted");
    await mutate(page.request, "runtime.sendCommand", { boardId, name: "Allocate", payload: { orderid, sku: `SKU-${orderid}`, qty: 3 } });
    await expect.poll(() => heard.filter((message) => message.data?.orderid === orderid), { timeout: 30_000 }).toEqual([
      expect.objectContaining({ type: "line_allocated", data: { orderid, sku: `SKU-${orderid}`, qty: 3, batchref: `b-${orderid}` } }),
    ]);
  } finally {
    subscriber.disconnect();
  }
});
