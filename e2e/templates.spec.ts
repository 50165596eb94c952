/**
 * Every template from the process list to a finished run, through the UI: created on /processes,
 * published and deployed in the Versions panel, run from the Run panel (start form or "Send a
 * command"), its outcome checked on the instance timeline and in the Views page. Outcomes are also
 * read back over tRPC (superjson: `{"json": input}`) and, for Redis, off the broker.
 */
import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { expect, test, type APIRequestContext, type Page } from "@playwright/test";

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

const tab = (page: Page, name: string) => page.getByRole("tab", { name: new RegExp(`^${name}`) });

/** Creates the process from its template on /processes, then publishes and deploys it in the Versions panel. */
async function deployFromTemplate(page: Page, templateName: string): Promise<string> {
  await page.goto("/processes");
  await page.getByRole("button", { name: `Use template ${templateName}`, exact: true }).click();
  await page.waitForURL(/\/processes\/[0-9a-f-]{36}$/);
  const boardId = new URL(page.url()).pathname.split("/").pop()!;
  await tab(page, "Versions").click();
  await page.getByRole("button", { name: "Publish" }).click();
  await expect(page.getByText("Published version 1.")).toBeVisible();
  await page.getByRole("button", { name: "Deploy version 1" }).click();
  await expect(page.getByTestId("version-1").getByText("deployed")).toBeVisible();
  await tab(page, "Run").click();
  return boardId;
}

/** Sends a command from the Run panel's "Send a command" form and waits for its outcome there. */
async function sendFromRunPanel(page: Page, command: string, fields: Record<string, string>, outcome: string | RegExp, options: { sample?: boolean } = {}) {
  const form = page.getByTestId("command-form");
  if (!(await form.evaluate((details) => (details as HTMLDetailsElement).open))) await form.getByText("Send a command").click();
  const select = form.getByLabel("Command to send");
  const label = await select.locator("option").filter({ hasText: new RegExp(`^${command}( |$)`) }).first().textContent();
  await select.selectOption({ label: label! });
  if (options.sample) await form.getByRole("button", { name: "Fill with sample data" }).click();
  for (const [name, value] of Object.entries(fields)) await form.getByLabel(new RegExp(`^${name}\\b`)).fill(value);
  await form.getByRole("button", { name: `Send ${command}` }).click();
  await expect(form.getByTestId("command-result")).toHaveText(outcome, { timeout: 30_000 });
}

/** The Run panel lists the instance of `key`; it reaches `status`, and its timeline shows `messages`. */
async function instanceOnTimeline(page: Page, key: string, status: string, messages: string[]) {
  const row = page.getByTestId("recent-instances").locator("li", { has: page.getByRole("link", { name: key, exact: true }) });
  await expect(row.locator(`[data-status="${status}"]`)).toBeVisible({ timeout: 45_000 });
  const editor = page.url();
  await row.getByRole("link", { name: key, exact: true }).click();
  await page.waitForURL(/\/runs\//);
  for (const message of messages) await expect(page.getByTestId("timeline-message").filter({ hasText: message }).first()).toBeVisible({ timeout: 20_000 });
  await page.goto(editor);
  await tab(page, "Run").click();
}

/** The read model `name` of the board, on the Views page, has a row containing every text. */
async function viewShows(page: Page, boardId: string, name: string, texts: string[]) {
  const editor = page.url();
  await page.goto("/runs/views");
  await page.getByTestId("projection-item").filter({ hasText: `${boardId}.${name}` }).click();
  const row = page.getByTestId("view-table").locator("tbody tr").filter({ hasText: texts[0] });
  await expect(row.first()).toBeVisible({ timeout: 20_000 });
  for (const text of texts.slice(1)) await expect(row.first()).toContainText(text);
  await page.goto(editor);
  await tab(page, "Run").click();
}

async function instanceSettles(request: APIRequestContext, boardId: string, correlationKey: string, status: string) {
  await expect
    .poll(async () => (await query<{ instances: Instance[] }>(request, "runtime.instances", { boardId, correlationKey })).instances.map((instance) => instance.status), {
      timeout: 40_000,
      intervals: [250, 500, 1000],
    })
    .toEqual([status]);
}

for (const templateName of ["Application Premium Process", "Application Premium Process (choreographed)"]) {
  test(`${templateName}: an application started from the Run panel completes with a quote, on the timeline and in the view`, async ({ page }) => {
    const boardId = await deployFromTemplate(page, templateName);
    await page.getByTestId("run-panel").getByRole("button", { name: "Fill with sample data" }).first().click();
    const key = `APP-${randomUUID().slice(0, 8)}`;
    await page.getByTestId("run-panel").getByLabel(/^applicationId/).fill(key);
    await page.getByRole("button", { name: "Start ApplicationSubmitted" }).click();
    await expect(page.getByTestId("run-panel").getByRole("status").filter({ hasText: `Started ${key}` })).toBeVisible();
    await instanceSettles(page.request, boardId, key, "completed");
    await instanceOnTimeline(page, key, "completed", ["ApplicationSubmitted", "RiskAssessed", "RateCalculated", "QuoteGenerated"]);
    await viewShows(page, boardId, "QuotesByApplication", [key]);
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
  // The warehouse books stock from the Run panel, as an actor would.
  await sendFromRunPanel(page, "RestockItem", { sku, quantity: "5" }, "Accepted: ItemRestocked.");
  await expect.poll(() => stockOnHand(page.request, boardId, sku), { timeout: 30_000, intervals: [250, 500, 1000] }).toBe(5);

  const orderId = `o-${randomUUID().slice(0, 8)}`;
  await sendFromRunPanel(page, "PlaceOrder", { orderId, sku, quantity: "2", unitPrice: "40" }, "Accepted: OrderRequested.", { sample: true });
  await instanceOnTimeline(page, orderId, "completed", ["OrderRequested", "OrderValidated", "StockReserved", "PaymentTaken", "OrderConfirmed", "OrderShipped"]);
  await viewShows(page, boardId, "OrderStatus", [orderId, "shipped"]);

  const tooMany = `o-${randomUUID().slice(0, 8)}`;
  await sendFromRunPanel(page, "PlaceOrder", { orderId: tooMany, sku, quantity: "6", unitPrice: "40" }, "Accepted: OrderRequested.", { sample: true });
  await instanceOnTimeline(page, tooMany, "failed", ["OrderRequested", "OrderRejected"]);
  await viewShows(page, boardId, "OrderStatus", [tooMany, "rejected: Out of stock"]);
});

test("User registration: a registration is accepted and a stale password update is rejected as a conflict", async ({ page }) => {
  const boardId = await deployFromTemplate(page, "User registration");
  const userId = `u-${randomUUID().slice(0, 8)}`;
  await sendFromRunPanel(page, "RegisterUser", { userId, userName: "ada", password: "h0", email: "ada@example.org" }, "Accepted: UserRegistered.");
  await sendFromRunPanel(page, "UpdatePassword", { userId, newPassword: "h1", originalVersion: "1" }, "Accepted: PasswordUpdated.");
  // Same version as the one that just won: refused as a concurrency conflict.
  await sendFromRunPanel(page, "UpdatePassword", { userId, newPassword: "h2", originalVersion: "1" }, /^Rejected: /);
  await viewShows(page, boardId, "UserDirectory", [userId, "ada@example.org"]);
});

test("Product catalog: a product is inserted, the supplier feed is subscribed on NATS and the stock queue on a Redis stream", async ({ page }) => {
  const boardId = await deployFromTemplate(page, "Product catalog (CQRS over NATS)");
  const sku = `SKU-${randomUUID().slice(0, 8)}`;
  await sendFromRunPanel(page, "InsertProduct", { name: "Lamp", sku, stockCount: "4" }, "Accepted: ProductInserted.");
  // The read side has its own shape: the SKU is its code.
  await viewShows(page, boardId, "Products", [sku, "Lamp"]);
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
    await sendFromRunPanel(page, "AddBatch", { batchref: `b-${orderid}`, sku: `SKU-${orderid}`, qty: "20" }, /^Accepted: /);
    await sendFromRunPanel(page, "Allocate", { orderid, sku: `SKU-${orderid}`, qty: "3" }, /^Accepted: /);
    await expect.poll(() => heard.filter((message) => message.data?.orderid === orderid), { timeout: 30_000 }).toEqual([
      expect.objectContaining({ type: "line_allocated", data: { orderid, sku: `SKU-${orderid}`, qty: 3, batchref: `b-${orderid}` } }),
    ]);
  } finally {
    subscriber.disconnect();
  }
});
