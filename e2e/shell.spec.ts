import { expect, test } from "@playwright/test";

test("the app shell navigates and the settings page reads system facts over tRPC", async ({ page }) => {
  await page.goto("/");
  await expect(page).toHaveURL(/\/processes$/);
  const nav = page.getByRole("navigation", { name: "Main" });
  await expect(nav.getByRole("link", { name: "Processes" })).toHaveAttribute("aria-current", "page");

  await nav.getByRole("link", { name: "Settings" }).click();
  await expect(page).toHaveURL(/\/settings$/);
  await expect(page.getByTestId("storage-kind")).toHaveText("Embedded PostgreSQL (PGlite)");
  await expect(page.getByTestId("system-facts")).toContainText("20261123000000_init");
});

test("health reports the embedded store and its migrations", async ({ request }) => {
  const response = await request.get("/api/health");
  expect(response.ok()).toBe(true);
  // Kept-alive connections stay open longer than Node's 5 s (pooling clients otherwise reuse a closing one).
  expect(response.headers()["keep-alive"]).toBe("timeout=65");
  const health = await response.json();
  expect(health).toMatchObject({ status: "ok", storage: "pglite" });
  expect(health.migrations).toContain("20261123000000_init");
});

test("a cross-origin form post to a mutation is refused with 403", async ({ request }) => {
  const response = await request.post("/api/trpc/system.health", {
    headers: { Origin: "http://evil.example", "Content-Type": "application/x-www-form-urlencoded" },
    data: "name=x",
  });
  expect(response.status()).toBe(403);
});
