import { expect, test, type Page } from "@playwright/test";

const tab = (page: Page, name: string) => page.getByRole("tab", { name: new RegExp(`^${name}`) });
const problemsSummary = (page: Page) => page.getByTestId("problems-panel").getByRole("status").first();
const instanceRow = (page: Page, key: string) => page.getByTestId("recent-instances").locator("li", { has: page.getByRole("link", { name: key, exact: true }) });

async function startWithSampleData(page: Page): Promise<string> {
  await page.getByRole("button", { name: "Fill with sample data" }).click();
  const key = await page.getByLabel(/^applicationId/).inputValue();
  expect(key).not.toBe("");
  await page.getByRole("button", { name: "Start ApplicationSubmitted" }).click();
  await expect(page.getByTestId("run-panel").getByRole("status").filter({ hasText: "Started" })).toBeVisible();
  return key;
}

test("Problems, publishing, running and a context taken down and brought back, from the editor", async ({ page }) => {
  test.setTimeout(180_000);
  await page.goto("/processes");
  await page.getByRole("button", { name: "Use template Application Premium Process", exact: true }).click();
  await page.waitForURL(/\/processes\/[0-9a-f-]{36}$/);
  await expect(page.getByTestId("board-editor")).toBeVisible();

  // ——— Problems: none to start with; deleting an element makes some; clicking it selects its element ———
  await tab(page, "Problems").click();
  await expect(problemsSummary(page)).toContainText(/No problems|^0 errors/);
  const cleanSummary = await problemsSummary(page).textContent();
  await page.screenshot({ path: "test-results/editor-panels-problems.png" });

  // Removing the command Risk is asked to handle leaves the policy that sends it with nothing to send.
  await page.locator('.react-flow__node[data-id="assess-risk"]').click();
  await page.keyboard.press("Delete");
  await expect(page.locator('.react-flow__node[data-id="assess-risk"]')).toHaveCount(0);
  await expect(problemsSummary(page)).not.toHaveText(cleanSummary ?? "");
  await expect(page.locator(".ep-node-problem-badge").first()).toBeVisible();
  await page.screenshot({ path: "test-results/editor-panels-problems-broken.png" });
  await page.getByRole("list", { name: "Problems" }).getByRole("button").and(page.locator(":enabled")).first().click();
  await expect(page.locator(".react-flow__node.selected, .react-flow__edge.selected")).not.toHaveCount(0);

  await page.getByRole("button", { name: "Undo" }).click();
  await expect(problemsSummary(page)).toHaveText(cleanSummary ?? "");
  await page.getByRole("button", { name: "Zoom to fit" }).click();
  await expect(page.getByTestId("save-status")).toHaveAttribute("data-state", "saved", { timeout: 20_000 });

  // ——— Versions: publish and deploy ———
  await tab(page, "Versions").click();
  await page.getByRole("button", { name: "Publish" }).click();
  await expect(page.getByText("Published version 1.")).toBeVisible();
  await page.getByRole("button", { name: "Deploy version 1" }).click();
  await expect(page.getByTestId("version-1").getByText("deployed")).toBeVisible();
  await page.screenshot({ path: "test-results/editor-panels-versions.png" });

  // ——— Run: one instance from sample data; the canvas counts and the instance completes ———
  await tab(page, "Run").click();
  // An empty form is refused in place, field by field, before anything is sent.
  await page.getByRole("button", { name: "Start ApplicationSubmitted" }).click();
  await expect(page.getByLabel(/^applicationId/)).toHaveAttribute("aria-invalid", "true");
  await expect(page.getByTestId("run-panel").getByText("is required").first()).toBeVisible();
  await page.getByLabel(/^applicationId/).fill("typed-by-hand");
  await expect(page.getByLabel(/^applicationId/)).not.toHaveAttribute("aria-invalid", "true");
  const first = await startWithSampleData(page);
  await expect(page.getByTestId("node-counters").first()).toBeVisible({ timeout: 20_000 });
  await expect(instanceRow(page, first).locator('[data-status="completed"]')).toBeVisible({ timeout: 30_000 });
  await page.screenshot({ path: "test-results/editor-panels-run.png" });

  // ——— Take Risk down: the next instance waits; bring it back: it completes ———
  await page.getByLabel("State of Risk").selectOption("down");
  await expect(page.getByLabel("State of Risk")).toHaveValue("down");
  const second = await startWithSampleData(page);
  await expect(instanceRow(page, second).locator('[data-status="running"]')).toBeVisible({ timeout: 15_000 });
  // Long enough for the first steps to run: it must still be waiting for Risk.
  await page.waitForTimeout(3000);
  await expect(instanceRow(page, second).locator('[data-status="running"]')).toBeVisible();
  await page.screenshot({ path: "test-results/editor-panels-risk-down.png" });

  await page.getByLabel("State of Risk").selectOption("up");
  await expect(instanceRow(page, second).locator('[data-status="completed"]')).toBeVisible({ timeout: 45_000 });

  // ——— Load generator: several instances at a chosen rate ———
  await page.getByText("Load generator").click();
  await page.getByLabel("Instances", { exact: true }).fill("4");
  await page.getByLabel("per second", { exact: true }).fill("4");
  await page.getByRole("button", { name: "Start 4 instances" }).click();
  await expect(page.getByText("4 started of 4")).toBeVisible({ timeout: 30_000 });

  // ——— A second version, compared with the first; its definition downloaded and imported as a new board ———
  await page.locator('.react-flow__node[data-id="request-risk-assessment"]').click();
  await tab(page, "Inspector").click();
  await page.getByTestId("inspector-name").fill("Ask Risk to assess");
  await expect(page.getByTestId("save-status")).toHaveAttribute("data-state", "saved", { timeout: 20_000 });
  await tab(page, "Versions").click();
  await page.getByRole("button", { name: "Publish" }).click();
  await expect(page.getByText("Published version 2.")).toBeVisible();
  await expect(page.getByTestId("version-diff")).toContainText("Ask Risk to assess");
  await expect(page.getByTestId("version-diff")).toContainText("1 changed");
  await page.screenshot({ path: "test-results/editor-panels-diff.png" });

  const download = page.waitForEvent("download");
  await page.getByRole("button", { name: "Download definition of version 2" }).click();
  const file = await (await download).path();
  const editorUrl = page.url();
  await page.getByLabel("Definition file to import").setInputFiles(file);
  await page.waitForURL((url) => /\/processes\/[0-9a-f-]{36}$/.test(url.pathname) && url.href !== editorUrl);
  await expect(page.locator(".react-flow__node", { hasText: "Ask Risk to assess" })).toBeVisible();
});
