/**
 * The Runs area against the real server: instances appear in the list as they start, an
 * instance's timeline fills live until it completes, a reload or a dropped connection in the
 * middle of a run shows every message exactly once, and a dead letter is retried from the UI.
 * Set-up goes through the tRPC HTTP API (superjson: `{"json": input}`).
 */
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

interface BoardDocument {
  nodes: { type: string; data: Record<string, unknown> }[];
}

/** A deployed insurance quote; `fastRetries` makes a failing command park after two quick attempts. */
async function deployQuoteProcess(request: APIRequestContext, name: string, options: { fastRetries?: boolean } = {}): Promise<string> {
  const board = await mutate<{ id: string }>(request, "board.create", { name, templateId: "insurance-quote" });
  if (options.fastRetries) {
    const stored = await query<{ revision: number; document: BoardDocument }>(request, "board.get", { id: board.id });
    for (const node of stored.document.nodes) {
      if (node.type === "policy") node.data.retry = { maxAttempts: 2, initialDelayMs: 100, multiplier: 1, maxDelayMs: 100 };
    }
    await mutate(request, "board.save", { id: board.id, baseRevision: stored.revision, document: stored.document });
  }
  const published = await mutate<{ version: { version: number } }>(request, "runtime.publish", { boardId: board.id });
  await mutate(request, "runtime.deploy", { boardId: board.id, version: published.version.version });
  return board.id;
}

function application(applicationId: string) {
  return {
    applicationId,
    applicant: { firstName: "Grace", lastName: "Hopper", dateOfBirth: "1906-12-09", postcode: "NY" },
    coverage: { product: "motor", sumInsured: 40_000, deductible: 500, startDate: "2027-01-01T00:00:00.000Z" },
    submittedAt: "2026-11-23T10:00:00.000Z",
  };
}

interface Started {
  instanceId: string;
  correlationId: string;
}

/** How many events the log holds for a correlation: what the timeline must show, each once. */
async function eventCount(request: APIRequestContext, correlationId: string): Promise<number> {
  const slice = await query<{ events: unknown[] }>(request, "eventstore.readAll", { filter: { correlationId }, limit: 1000 });
  return slice.events.length;
}

async function expectEveryMessageOnce(page: Page, request: APIRequestContext, correlationId: string) {
  const expected = await eventCount(request, correlationId);
  const cards = page.getByTestId("timeline-message");
  await expect(cards).toHaveCount(expected);
  const ids = await cards.evaluateAll((elements) => elements.map((element) => element.getAttribute("data-message-id")));
  expect(new Set(ids).size).toBe(expected);
  await expect(page.getByTestId("message-log-row")).toHaveCount(expected);
  await expect(page.getByTestId("timeline-count")).toHaveText(`${expected} messages`);
}

const unique = (prefix: string) => `${prefix}-${Date.now().toString(36)}-${Math.floor(Math.random() * 1e4)}`;

test("a started instance appears in the list and its timeline fills live until it completes", async ({ page, request }) => {
  const boardId = await deployQuoteProcess(request, unique("Live quotes"));
  // Risk answers after 1.5 s, so the run is slow enough to watch.
  await mutate(request, "runtime.contexts.update", { boardId, contextId: "risk", latencyMs: 1500 });
  const key = unique("A");

  await page.goto("/runs");
  await expect(page.getByTestId("live-state")).toHaveText("Live");
  const started = await mutate<Started>(request, "runtime.start", { boardId, payload: application(key) });

  // Appears without a reload, first running.
  await page.getByTestId("instance-search").fill(key);
  const row = page.getByTestId("instance-row").filter({ hasText: key });
  await expect(row).toHaveCount(1);
  await expect(row).toHaveAttribute("data-status", /running|completed/);
  await row.getByTestId("instance-link").click();

  await expect(page).toHaveURL(`/runs/${encodeURIComponent(started.instanceId)}`);
  await expect(page.getByTestId("instance-correlation-id")).toHaveText(started.correlationId);
  await expect(page.getByTestId("instance-version")).toHaveText("v1");
  const header = page.locator(".runs-instance-title").getByTestId("status-badge");
  // Watching it fill: the run is waiting on Risk, then completes.
  await expect(page.getByTestId("timeline-message").filter({ hasText: "AssessRisk" })).toHaveCount(1);
  await expect(header).toHaveAttribute("data-status", "completed", { timeout: 20_000 });
  await expect(page.getByTestId("timeline-message").filter({ hasText: "QuoteGenerated" })).toHaveCount(1);
  await expectEveryMessageOnce(page, request, started.correlationId);

  // The command and the event it caused are joined by an arrow, labelled with the time between them.
  const assess = page.locator('[data-testid="timeline-message"][data-kind="command"]').filter({ hasText: "AssessRisk" });
  const assessed = page.locator('[data-testid="timeline-message"][data-kind="event"]').filter({ hasText: "RiskAssessed" });
  const link = page.locator(`[data-testid="causation-link"][data-from="${await assess.getAttribute("data-message-id")}"][data-to="${await assessed.getAttribute("data-message-id")}"]`);
  await expect(link).toHaveCount(1);
  await expect(link).toContainText(/\d(\.\d+)? s/);

  // A message's payload, metadata and raw CloudEvent.
  await assessed.click();
  const panel = page.getByTestId("message-panel");
  await expect(panel.getByTestId("message-panel-title")).toHaveText("RiskAssessed");
  await expect(panel.getByTestId("message-payload")).toContainText(`"applicationId": "${key}"`);
  await panel.getByTestId("message-tab-metadata").click();
  await expect(panel.getByTestId("message-metadata")).toContainText(started.correlationId);
  await panel.getByTestId("message-tab-cloudevent").click();
  await expect(panel.getByTestId("message-cloudevent")).toContainText('"specversion": "1.0"');
  await expect(panel.getByTestId("panel-cause")).toContainText("AssessRisk");
  await page.keyboard.press("Escape");
  await expect(panel).toHaveCount(0);

  // The time slider shows the state after any message.
  const slider = page.getByTestId("time-slider");
  await slider.focus();
  await page.keyboard.press("Home");
  await expect(page.getByTestId("slider-label")).toContainText("message 1 of");
  await expect(page.getByTestId("state-panel").getByTestId("status-badge")).toHaveAttribute("data-status", "idle");
  await page.keyboard.press("End");
  await expect(page.getByTestId("state-panel").getByTestId("status-badge")).toHaveAttribute("data-status", "completed");
  await expect(page.getByTestId("state-steps")).toContainText("request-quote");
});

test("reloading or losing the connection in the middle of a run shows every message exactly once", async ({ page, request, context }) => {
  const boardId = await deployQuoteProcess(request, unique("Resumed quotes"));
  await mutate(request, "runtime.contexts.update", { boardId, contextId: "risk", latencyMs: 2500 });
  await mutate(request, "runtime.contexts.update", { boardId, contextId: "rate", latencyMs: 2500 });
  const started = await mutate<Started>(request, "runtime.start", { boardId, payload: application(unique("R")) });

  await page.goto(`/runs/${encodeURIComponent(started.instanceId)}`);
  await expect(page.getByTestId("timeline-message").filter({ hasText: "AssessRisk" })).toHaveCount(1);
  await page.reload();
  await expect(page.getByTestId("timeline-message").filter({ hasText: "AssessRisk" })).toHaveCount(1);
  await expect(page.getByTestId("live-state")).toHaveText("Live");

  // Cut the connection while Rate is still working, then let it resume.
  await expect(page.getByTestId("timeline-message").filter({ hasText: "RiskAssessed" })).toHaveCount(1, { timeout: 15_000 });
  await context.setOffline(true);
  await expect(page.getByTestId("live-state")).not.toHaveText("Live");
  await context.setOffline(false);

  await expect(page.locator(".runs-instance-title").getByTestId("status-badge")).toHaveAttribute("data-status", "completed", { timeout: 30_000 });
  await expect(page.getByTestId("live-state")).toHaveText("Live", { timeout: 30_000 });
  await expectEveryMessageOnce(page, request, started.correlationId);
});

test("the list filters by status and searches by correlation key", async ({ page, request }) => {
  const boardId = await deployQuoteProcess(request, unique("Filtered quotes"));
  const key = unique("F");
  const started = await mutate<Started>(request, "runtime.start", { boardId, payload: application(key) });
  await expect
    .poll(async () => (await query<{ instance: { status: string } }>(request, "runtime.instance", { instanceId: started.instanceId })).instance.status)
    .toBe("completed");

  await page.goto("/runs");
  await expect(page.getByTestId("instances-shown")).toBeVisible();
  await page.getByTestId("instance-search").fill(key.toLowerCase());
  await expect(page.getByTestId("instance-row")).toHaveCount(1);
  await page.getByTestId("count-failed").click();
  await expect(page.getByTestId("count-failed")).toHaveAttribute("aria-pressed", "true");
  await expect(page.getByTestId("instances-no-match")).toBeVisible();
  await page.getByTestId("count-completed").click();
  await expect(page.getByTestId("instance-row")).toHaveCount(1);
  await expect(page.getByTestId("instance-row")).toHaveAttribute("data-status", "completed");
  await page.getByTestId("instance-search").fill(`${key}-no-such-key`);
  await expect(page.getByTestId("instances-no-match")).toBeVisible();
  await page.getByRole("button", { name: "Clear filters" }).click();
  await expect(page.getByTestId("count-all")).toHaveAttribute("aria-pressed", "true");
  await expect(page.getByTestId("instance-row").first()).toBeVisible();
});

test("a parked command is inspected, kept through a cancelled discard, and retried from the dead-letter panel", async ({ page, request }) => {
  const boardId = await deployQuoteProcess(request, unique("Failing quotes"), { fastRetries: true });
  await mutate(request, "runtime.contexts.update", { boardId, contextId: "risk", failureRate: 1 });
  const started = await mutate<Started>(request, "runtime.start", { boardId, payload: application(unique("D")) });

  await page.goto("/runs/dead-letters");
  const row = page.getByTestId("dead-letter-row").filter({ has: page.locator(`a[href="/runs/${encodeURIComponent(started.instanceId)}"]`) });
  await expect(row).toHaveCount(1, { timeout: 20_000 });
  await expect(row).toContainText("AssessRisk");
  await expect(row).toContainText("Risk");
  await expect(row).toContainText("injected failure");

  await row.getByTestId("dead-letter-inspect").click();
  const details = page.getByTestId("dead-letter-details");
  await expect(details.getByTestId("dead-letter-error")).toContainText("injected failure");
  await expect(details.getByTestId("dead-letter-attempts")).toContainText("2 failed attempts");
  await expect(details.getByTestId("dead-letter-payload")).toContainText('"applicationId"');
  await details.getByRole("button", { name: "Close details" }).click();

  await row.getByTestId("dead-letter-discard").click();
  const dialog = page.getByTestId("confirm-dialog");
  await expect(dialog).toBeVisible();
  await expect(dialog).toContainText("compensates");
  await dialog.getByRole("button", { name: "Cancel" }).click();
  await expect(dialog).toBeHidden();
  await expect(row).toHaveCount(1);

  // The instance shows the parked command while it waits.
  await page.goto(`/runs/${encodeURIComponent(started.instanceId)}`);
  await expect(page.getByTestId("pending-commands")).toContainText("parked");
  await expect(page.getByTestId("delivery-flag")).toHaveText("parked");

  await mutate(request, "runtime.contexts.update", { boardId, contextId: "risk", failureRate: 0 });
  await page.goto("/runs/dead-letters");
  await row.getByTestId("dead-letter-retry").click();
  await expect(page.getByTestId("runs-toast")).toContainText("AssessRisk is back in line");
  await expect(row).toHaveCount(0);

  await page.goto(`/runs/${encodeURIComponent(started.instanceId)}`);
  await expect(page.locator(".runs-instance-title").getByTestId("status-badge")).toHaveAttribute("data-status", "completed", { timeout: 20_000 });
  await expectEveryMessageOnce(page, request, started.correlationId);
});

test("the views panel lists every projection the event store reports", async ({ page, request }) => {
  const projections = await query<{ name: string }[]>(request, "eventstore.projections", undefined);
  await page.goto("/runs/views");
  if (projections.length === 0) {
    await expect(page.getByTestId("views-empty")).toContainText("No read model is being projected");
  } else {
    await expect(page.getByTestId("projection-item")).toHaveCount(projections.length);
    await expect(page.getByTestId("projection-lag")).toBeVisible();
  }
  await expect(page.getByTestId("runs-tab-views")).toHaveAttribute("aria-current", "page");
});

test("an unknown instance says so and leads back to the list", async ({ page }) => {
  await page.goto(`/runs/${encodeURIComponent("no-such-board@1:p:nobody")}`);
  await expect(page.getByTestId("instance-missing")).toContainText("There is no such instance");
  await page.getByRole("link", { name: "Back to all runs" }).click();
  await expect(page).toHaveURL("/runs");
});
