import { expect, test, type Locator, type Page } from "@playwright/test";

async function newBoard(page: Page, name?: string): Promise<string> {
  await page.goto("/processes");
  await page.getByRole("button", { name: "New process" }).first().click();
  await page.waitForURL(/\/processes\/[0-9a-f-]{36}$/);
  await expect(page.getByTestId("board-editor")).toBeVisible();
  if (name) {
    const title = page.getByRole("textbox", { name: "Board name" });
    await title.fill(name);
    // The rename is its own request: a test that navigates away before it lands loses it.
    const renamed = page.waitForResponse((response) => response.url().includes("/api/trpc/board.rename"));
    await title.press("Enter");
    expect((await renamed).ok()).toBe(true);
  }
  return page.url().split("/").pop()!;
}

const pane = (page: Page) => page.locator(".react-flow__pane");
const nodesOf = (page: Page, kind: string) => page.locator(`.react-flow__node-${kind}`);
const saveStatus = (page: Page) => page.getByTestId("save-status");

/** Drags an element from the palette onto the canvas, `x`/`y` from the canvas's top-left corner. */
async function dropFromPalette(page: Page, kind: string, x: number, y: number) {
  await page.getByTestId(`palette-${kind}`).dragTo(pane(page), { targetPosition: { x, y } });
}

async function center(locator: Locator) {
  const box = await locator.boundingBox();
  if (!box) throw new Error("element is not visible");
  return { x: box.x + box.width / 2, y: box.y + box.height / 2 };
}

/** Drags from the source node's right-hand handle to the target node's left-hand handle. */
async function connect(page: Page, source: Locator, target: Locator) {
  const from = await center(source.locator(".react-flow__handle-right"));
  const to = await center(target.locator(".react-flow__handle-left"));
  await page.mouse.move(from.x, from.y);
  await page.mouse.down();
  await page.mouse.move((from.x + to.x) / 2, (from.y + to.y) / 2, { steps: 6 });
  await page.mouse.move(to.x, to.y, { steps: 6 });
  await page.mouse.up();
}

async function rename(page: Page, node: Locator, name: string) {
  await node.click();
  const field = page.getByTestId("inspector-name");
  await field.fill(name);
  await expect(node).toContainText(name);
}

async function waitUntilSaved(page: Page) {
  await expect(saveStatus(page)).toHaveAttribute("data-state", "saved");
}

test("a process drawn from the palette, connected and given a payload survives a reload", async ({ page }) => {
  await newBoard(page, "Order intake");
  await expect(page.getByText("An empty board")).toBeVisible();

  await dropFromPalette(page, "context", 380, 260);
  await rename(page, nodesOf(page, "context"), "Sales");
  await dropFromPalette(page, "command", 220, 200);
  await rename(page, nodesOf(page, "command"), "PlaceOrder");
  await dropFromPalette(page, "aggregate", 430, 200);
  await rename(page, nodesOf(page, "aggregate"), "Order");
  await dropFromPalette(page, "event", 600, 330);
  await rename(page, nodesOf(page, "event"), "OrderPlaced");
  await dropFromPalette(page, "policy", 620, 560);
  await rename(page, nodesOf(page, "policy"), "Reserve stock");

  await connect(page, nodesOf(page, "command"), nodesOf(page, "aggregate"));
  await connect(page, nodesOf(page, "aggregate"), nodesOf(page, "event"));
  await connect(page, nodesOf(page, "event"), nodesOf(page, "policy"));
  await expect(page.locator(".react-flow__edge")).toHaveCount(3);

  // The command was dropped inside the context, so it is a member; the policy was not.
  await nodesOf(page, "command").click();
  await expect(page.getByLabel("Context", { exact: true })).toHaveValue(await nodesOf(page, "context").getAttribute("data-id") as string);
  await page.getByRole("button", { name: "Add field" }).click();
  await page.getByTestId("payload-field-name").fill("orderId");
  await page.getByRole("button", { name: "Add field" }).click();
  await page.getByTestId("payload-field-name").nth(1).fill("quantity");
  await page.getByTestId("payload-field-type").nth(1).selectOption("integer");
  await nodesOf(page, "policy").click();
  await expect(page.getByLabel("Context", { exact: true })).toHaveValue("");
  await waitUntilSaved(page);

  await page.reload();
  await expect(nodesOf(page, "context")).toContainText("Sales");
  for (const [kind, name] of [
    ["command", "PlaceOrder"],
    ["aggregate", "Order"],
    ["event", "OrderPlaced"],
    ["policy", "Reserve stock"],
  ]) {
    await expect(nodesOf(page, kind!)).toContainText(name!);
  }
  await expect(page.locator(".react-flow__edge")).toHaveCount(3);
  await expect(page.getByRole("textbox", { name: "Board name" })).toHaveValue("Order intake");
  await nodesOf(page, "command").click();
  await expect(page.getByTestId("payload-field-name")).toHaveCount(2);
  await expect(page.getByTestId("payload-field-name").first()).toHaveValue("orderId");
  await expect(page.getByTestId("payload-field-type").nth(1)).toHaveValue("integer");
  await expect(nodesOf(page, "command")).toContainText("2 fields");
  await expect(page.getByLabel("Context", { exact: true })).toHaveValue(await nodesOf(page, "context").getAttribute("data-id") as string);
});

test("undo and redo step through additions, connections and renames", async ({ page }) => {
  await newBoard(page);
  await dropFromPalette(page, "command", 200, 200);
  await dropFromPalette(page, "aggregate", 500, 200);
  await connect(page, nodesOf(page, "command"), nodesOf(page, "aggregate"));
  await expect(page.locator(".react-flow__edge")).toHaveCount(1);
  await rename(page, nodesOf(page, "aggregate"), "Cart");
  await page.getByTestId("canvas").click({ position: { x: 40, y: 600 } });

  await page.keyboard.press("Control+z");
  await expect(nodesOf(page, "aggregate")).toContainText("New aggregate");
  await page.keyboard.press("Control+z");
  await expect(page.locator(".react-flow__edge")).toHaveCount(0);
  await page.keyboard.press("Control+z");
  await expect(page.locator(".react-flow__node")).toHaveCount(1);
  await page.keyboard.press("Control+Shift+z");
  await expect(page.locator(".react-flow__node")).toHaveCount(2);
  await page.keyboard.press("Control+y");
  await expect(page.locator(".react-flow__edge")).toHaveCount(1);
  await page.getByRole("button", { name: "Redo" }).click();
  await expect(nodesOf(page, "aggregate")).toContainText("Cart");
  await expect(page.getByRole("button", { name: "Redo" })).toBeDisabled();

  // Undo is saved like any other change.
  await page.getByRole("button", { name: "Undo" }).click();
  await expect(nodesOf(page, "aggregate")).toContainText("New aggregate");
  await waitUntilSaved(page);
  await page.reload();
  await expect(nodesOf(page, "aggregate")).toContainText("New aggregate");
  await expect(page.locator(".react-flow__edge")).toHaveCount(1);
});

test("a connection that makes no sense is refused and the reason is shown", async ({ page }) => {
  await newBoard(page);
  await dropFromPalette(page, "event", 200, 200);
  await dropFromPalette(page, "command", 500, 200);
  await connect(page, nodesOf(page, "event"), nodesOf(page, "command"));
  await expect(page.getByTestId("toast")).toContainText("an event cannot issue a command; put a policy between them");
  await expect(page.locator(".react-flow__edge")).toHaveCount(0);
});

test("copy and paste carries elements, their connection and their payload to another board", async ({ page, context }) => {
  await context.grantPermissions(["clipboard-read", "clipboard-write"]);
  await newBoard(page, "Source");
  await dropFromPalette(page, "command", 200, 200);
  await rename(page, nodesOf(page, "command"), "Register");
  await page.getByRole("button", { name: "Add field" }).click();
  await page.getByTestId("payload-field-name").fill("email");
  await dropFromPalette(page, "aggregate", 480, 200);
  await connect(page, nodesOf(page, "command"), nodesOf(page, "aggregate"));
  await waitUntilSaved(page);

  await nodesOf(page, "aggregate").click();
  await page.keyboard.press("Control+a");
  await page.keyboard.press("Control+c");
  await expect(page.getByTestId("toast").filter({ hasText: "Copied 2 elements" })).toHaveCount(1);

  await newBoard(page, "Target");
  await page.getByTestId("canvas").click({ position: { x: 300, y: 300 } });
  await page.keyboard.press("Control+v");
  await expect(nodesOf(page, "command")).toContainText("Register");
  await expect(nodesOf(page, "aggregate")).toHaveCount(1);
  await expect(page.locator(".react-flow__edge")).toHaveCount(1);
  await nodesOf(page, "command").click();
  await expect(page.getByTestId("payload-field-name")).toHaveValue("email");

  // Pasting again adds a second, offset copy; Ctrl+D duplicates the selection.
  await page.keyboard.press("Control+v");
  await expect(nodesOf(page, "command")).toHaveCount(2);
  // The second paste lies on top of the first.
  await nodesOf(page, "aggregate").last().click();
  await page.keyboard.press("Control+d");
  await expect(nodesOf(page, "aggregate")).toHaveCount(3);
  await page.keyboard.press("Delete");
  await expect(nodesOf(page, "aggregate")).toHaveCount(2);
});

test("two pages editing one board: the stale save gets the conflict dialog", async ({ page, context }) => {
  const id = await newBoard(page, "Contested");
  const other = await context.newPage();
  await other.goto(`/processes/${id}`);
  await expect(other.getByTestId("board-editor")).toBeVisible();

  await dropFromPalette(page, "command", 200, 200);
  await rename(page, nodesOf(page, "command"), "FromFirstPage");
  await waitUntilSaved(page);

  await dropFromPalette(other, "event", 300, 300);
  const dialog = other.getByTestId("conflict-dialog");
  await expect(dialog).toBeVisible();
  await expect(saveStatus(other)).toHaveAttribute("data-state", "conflict");
  await dialog.getByRole("button", { name: "Reload theirs" }).click();
  await expect(dialog).toBeHidden();
  await expect(nodesOf(other, "command")).toContainText("FromFirstPage");
  await expect(nodesOf(other, "event")).toHaveCount(0);

  // Again, and this time keep mine: it becomes a new board, theirs is left alone.
  await rename(page, nodesOf(page, "command"), "SecondEdit");
  await waitUntilSaved(page);
  await dropFromPalette(other, "policy", 400, 400);
  await other.getByTestId("conflict-dialog").getByRole("button", { name: "Keep mine as a copy" }).click();
  await other.waitForURL((url) => !url.pathname.endsWith(id));
  await expect(other.getByRole("textbox", { name: "Board name" })).toHaveValue("Contested (my copy)");
  await expect(nodesOf(other, "policy")).toHaveCount(1);
  await expect(nodesOf(other, "command")).toContainText("FromFirstPage");

  await page.reload();
  await expect(nodesOf(page, "command")).toContainText("SecondEdit");
  await expect(nodesOf(page, "policy")).toHaveCount(0);
});

test("a malformed import is rejected with every problem listed, a good one lands in the list", async ({ page }) => {
  await page.goto("/processes");
  const malformed = {
    name: "Broken",
    document: {
      schemaVersion: 1,
      nodes: [
        { id: "x", type: "sticky", position: { x: 0, y: 0 }, data: {} },
        { id: "y", type: "event", position: { x: "left", y: 0 }, data: { name: "Done" } },
      ],
      edges: [{ id: "e", source: "y", target: "ghost" }],
    },
  };
  await page.getByTestId("import-file").setInputFiles({ name: "broken.json", mimeType: "application/json", buffer: Buffer.from(JSON.stringify(malformed)) });
  const problems = page.getByTestId("import-problems");
  await expect(problems).toBeVisible();
  await expect(problems).toContainText("“broken.json” cannot be imported");
  await expect(problems.getByRole("listitem").filter({ hasText: "document.nodes[0].type" })).toHaveCount(1);
  await expect(problems.getByRole("listitem").filter({ hasText: "document.nodes[1].position.x" })).toHaveCount(1);
  await expect(problems.getByRole("listitem").filter({ hasText: "document.nodes[1].data.schema" })).toHaveCount(1);
  await problems.getByRole("button", { name: "Close" }).click();

  await page.getByTestId("import-file").setInputFiles({ name: "notes.json", mimeType: "application/json", buffer: Buffer.from("{ this is not json") });
  await expect(problems).toContainText("the file is not JSON");
  await problems.getByRole("button", { name: "Close" }).click();
  await expect(page.getByTestId("board-row").filter({ hasText: "Broken" })).toHaveCount(0);

  const importedName = `Imported intake ${Math.random().toString(36).slice(2, 8)}`;
  const good = { name: importedName, description: "from a file", document: { schemaVersion: 1, nodes: [{ id: "c1", type: "command", position: { x: 0, y: 0 }, data: { name: "Submit", schema: { type: "object", properties: {} } } }], edges: [] } };
  await page.getByTestId("import-file").setInputFiles({ name: "good.sagaboard.json", mimeType: "application/json", buffer: Buffer.from(JSON.stringify(good)) });
  const row = page.getByTestId("board-row").filter({ hasText: importedName });
  await expect(row).toHaveCount(1);
  await row.getByRole("link", { name: importedName }).click();
  await expect(nodesOf(page, "command")).toContainText("Submit");
});

test("the process list creates, renames, duplicates, searches, deletes with undo", async ({ page }) => {
  const unique = Math.random().toString(36).slice(2, 8);
  await newBoard(page, `Shipping flow ${unique}`);
  await waitUntilSaved(page);
  await page.goto("/processes");
  const row = page.getByTestId("board-row").filter({ hasText: `Shipping flow ${unique}` });
  await expect(row).toContainText("just now");

  const name = `Delivery flow ${unique}`;
  await row.getByRole("button", { name: `Rename Shipping flow ${unique}` }).click();
  await page.getByRole("textbox", { name: `New name for Shipping flow ${unique}` }).fill(name);
  await page.keyboard.press("Enter");
  const renamed = page.getByTestId("board-row").filter({ hasText: name });
  await expect(renamed).toHaveCount(1);

  await renamed.getByRole("button", { name: `Duplicate ${name}` }).click();
  await expect(page.getByTestId("board-row").filter({ hasText: `${name} (copy)` })).toHaveCount(1);

  const search = page.getByRole("searchbox", { name: "Search processes by name" });
  await search.fill(`${unique} (copy)`);
  await expect(page.getByTestId("board-row")).toHaveCount(1);
  await search.fill(unique.toUpperCase());
  await expect(page.getByTestId("board-row")).toHaveCount(2);

  await page.getByRole("button", { name: `Delete ${name}`, exact: true }).click();
  const confirm = page.getByTestId("confirm-delete");
  await expect(confirm).toContainText(`Delete “${name}”?`);
  await confirm.getByRole("button", { name: "Delete" }).click();
  await expect(page.getByTestId("board-row")).toHaveCount(1);
  await expect(page.getByTestId("board-row")).toContainText(`${name} (copy)`);
  await page.getByTestId("toast").getByRole("button", { name: "Undo" }).click();
  await expect(page.getByTestId("board-row")).toHaveCount(2);
});

test("a template board lays itself out with ELK, and find selects and frames an element", async ({ page }) => {
  await page.goto("/processes");
  await page.getByRole("button", { name: "Use template User registration", exact: true }).click();
  await page.waitForURL(/\/processes\/[0-9a-f-]{36}$/);
  await expect(nodesOf(page, "aggregate")).toHaveCount(1);
  const aggregate = nodesOf(page, "aggregate");
  const commandsLeftOfAggregate = async () => {
    const aggregateBox = (await aggregate.boundingBox())!;
    for (const command of await nodesOf(page, "command").all()) if ((await command.boundingBox())!.x >= aggregateBox.x) return false;
    return true;
  };
  expect(await commandsLeftOfAggregate()).toBe(true);

  // Drag the aggregate to the left edge of its context (it stays a member), then let
  // auto-layout restore the causal order.
  const start = await center(aggregate.locator(".sticky-kind"));
  const context = (await nodesOf(page, "context").boundingBox())!;
  await page.mouse.move(start.x, start.y);
  await page.mouse.down();
  await page.mouse.move(context.x + 12, start.y, { steps: 12 });
  await page.mouse.up();
  expect(await commandsLeftOfAggregate()).toBe(false);
  await aggregate.click();
  await expect(page.getByLabel("Context", { exact: true })).toHaveValue((await nodesOf(page, "context").getAttribute("data-id"))!);
  await page.getByRole("button", { name: "Auto-layout" }).click();
  await expect.poll(commandsLeftOfAggregate).toBe(true);
  await waitUntilSaved(page);
  await page.getByRole("button", { name: "Undo" }).click();
  await expect.poll(commandsLeftOfAggregate).toBe(false);
  await page.getByRole("button", { name: "Redo" }).click();
  await expect.poll(commandsLeftOfAggregate).toBe(true);

  await page.keyboard.press("Control+f");
  await expect(page.getByRole("combobox", { name: "Find element by name" })).toBeFocused();
  await page.keyboard.type("UserRegistered");
  await expect(page.getByRole("option", { name: /UserRegistered/ })).toBeVisible();
  await page.keyboard.press("Enter");
  await expect(page.getByTestId("inspector-name")).toHaveValue("UserRegistered");
  await expect(page.locator(".react-flow__node-event.selected")).toContainText("UserRegistered");
});
