/**
 * P8: the designer canvas stays fluid on big boards. Headless Chromium opens the running app
 * (started here on a throwaway data directory and a free port) on a 500-node / 600-edge board
 * and on a 1,000-node board, then pans (Space + drag, as a user does) and drags an element
 * around for a few seconds each while requestAnimationFrame counts frames.
 *
 * Requirements: ≥ 55 fps at 500 nodes, ≥ 30 fps at 1,000. The baseline is the same gestures on
 * a board with a single element, measured in the same run: it is what this browser on this
 * machine can show at all, so the ratio targets are the requirements over a 60 Hz display.
 */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { createTRPCClient, httpLink } from "@trpc/client";
import { chromium, type Page } from "playwright-core";
import superjson from "superjson";
import type { AppRouter } from "../server/api/root.ts";
import type { BoardDocument, BoardEdge, BoardNode, NodeKind } from "../server/board/document.ts";
import { metric, round, type BenchContext, type Metric } from "./metrics.ts";

const ROOT = path.resolve(import.meta.dirname, "..");
const GESTURE_MS = 3000;
const DISPLAY_HZ = 60;
const chain: NodeKind[] = ["command", "aggregate", "event", "policy"];
const size: Record<string, { width: number; height: number }> = {
  command: { width: 180, height: 80 },
  aggregate: { width: 200, height: 96 },
  event: { width: 180, height: 80 },
  policy: { width: 180, height: 80 },
};

function dataFor(kind: NodeKind, name: string): BoardNode["data"] {
  const schema = { type: "object" as const, properties: { caseId: { type: "string" as const }, amount: { type: "number" as const } }, required: ["caseId"] };
  switch (kind) {
    case "command":
      return { name, description: "", schema };
    case "event":
      return { name, description: "", schema, visibility: "internal", lifecycle: "none" };
    case "aggregate":
      return { name, description: "", idExpression: "command.caseId", stateFields: [{ name: "amount", type: "number" }], rules: [], evolutions: [], snapshotEvery: 0 };
    case "policy":
      return { name, description: "", mapping: { caseId: "event.caseId" }, correlationKey: "event.caseId" };
    default:
      throw new Error(`no bench data for ${kind}`);
  }
}

/**
 * Contexts of 11-wide rows of command → aggregate → event → policy chains, then extra
 * event → policy edges between rows until the edge count is reached. Every edge is valid.
 */
export function canvasBoard(nodeCount: number, edgeCount: number): BoardDocument {
  const contexts = Math.max(1, Math.round(nodeCount / 100));
  const perContext = Math.floor((nodeCount - contexts) / contexts);
  const columns = 11;
  const rows = Math.ceil(perContext / columns);
  const contextWidth = columns * 240 + 40;
  const contextHeight = rows * 140 + 80;
  const nodes: BoardNode[] = [];
  const edges: BoardEdge[] = [];
  const events: string[][] = [];
  const policies: string[][] = [];
  for (let c = 0; c < contexts; c++) {
    const contextId = `ctx-${c}`;
    nodes.push({ id: contextId, type: "context", position: { x: (c % 3) * (contextWidth + 120), y: Math.floor(c / 3) * (contextHeight + 120) }, width: contextWidth, height: contextHeight, data: { name: `Context ${c}`, description: "" } });
    const members = c === contexts - 1 ? nodeCount - contexts - perContext * (contexts - 1) : perContext;
    let previous: string | undefined;
    for (let i = 0; i < members; i++) {
      const kind = chain[i % chain.length]!;
      const id = `n-${c}-${i}`;
      const row = Math.floor(i / columns);
      nodes.push({ id, type: kind, parentId: contextId, position: { x: 24 + (i % columns) * 240, y: 56 + row * 140 }, ...size[kind], data: dataFor(kind, `${kind[0]!.toUpperCase()}${c}x${i}`) } as BoardNode);
      if (previous && edges.length < edgeCount) edges.push({ id: `e-${edges.length}`, source: previous, target: id });
      previous = id;
      if (kind === "event") (events[row] ??= []).push(id);
      if (kind === "policy") (policies[row] ??= []).push(id);
    }
  }
  for (let row = 0; edges.length < edgeCount && row < events.length; row = (row + 1) % events.length) {
    const sources = events[row] ?? [];
    const targets = policies[(row + 1) % policies.length] ?? [];
    const before = edges.length;
    for (let i = 0; i < sources.length && edges.length < edgeCount; i++) {
      const source = sources[i]!;
      const target = targets[(i + 1) % Math.max(1, targets.length)];
      if (target && !edges.some((edge) => edge.source === source && edge.target === target)) edges.push({ id: `e-${edges.length}`, source, target });
    }
    if (row === events.length - 1 && edges.length === before) break;
  }
  return { schemaVersion: 1, nodes, edges, process: { stuckAfterMs: 300_000 } };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

/** Another checkout process may be building the app at the same moment; wait for it and try again. */
async function startApp(ctx: BenchContext | undefined): Promise<{ base: string; stop: () => Promise<void> }> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startAppOnce(ctx);
    } catch (error) {
      if (attempt >= 5 || !String((error as Error).message).includes("Another next build process is already running")) throw error;
      ctx?.log("another build is running; waiting for it");
      await new Promise((resolve) => setTimeout(resolve, 30_000));
    }
  }
}

async function startAppOnce(ctx: BenchContext | undefined): Promise<{ base: string; stop: () => Promise<void> }> {
  const port = await freePort();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "sagaboard-canvas-bench-"));
  const base = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn(process.execPath, [path.join(ROOT, "node_modules", "tsx", "dist", "cli.mjs"), "server/main.ts"], {
    cwd: ROOT,
    env: { ...process.env, PORT: String(port), HOST: "127.0.0.1", SAGABOARD_DATA_DIR: path.join(dataDir, "data"), DATABASE_URL: "", SAGABOARD_NO_EXAMPLES: "1", SAGABOARD_TOKEN: "" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const stop = async () => {
    if (child.exitCode === null) {
      child.kill("SIGTERM");
      await new Promise((resolve) => {
        const timer = setTimeout(() => {
          child.kill("SIGKILL");
          resolve(undefined);
        }, 10_000);
        child.once("exit", () => {
          clearTimeout(timer);
          resolve(undefined);
        });
      });
    }
    fs.rmSync(dataDir, { recursive: true, force: true });
  };
  ctx?.log(`starting the app on ${base} (it builds first when the build is stale)`);
  const deadline = Date.now() + 10 * 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`the app exited with ${child.exitCode}:\n${output.slice(-2000)}`);
    }
    try {
      const response = await fetch(`${base}/api/health`);
      if (response.ok) return { base, stop };
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  await stop();
  throw new Error(`the app did not answer within 10 minutes:\n${output.slice(-2000)}`);
}

/** Frames per second while `gesture` runs for GESTURE_MS. */
/** Frames per second while `gesture` runs for `durationMs`. */
async function framesDuring(page: Page, gesture: (until: number) => Promise<void>, durationMs = GESTURE_MS): Promise<number> {
  // Plain script text: tsx would otherwise wrap the functions in helpers the page does not have.
  await page.evaluate(`(() => {
    const state = { frames: 0, counting: true, started: performance.now() };
    window.__fps = state;
    const tick = () => {
      if (!state.counting) return;
      state.frames++;
      requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  })()`);
  await gesture(Date.now() + durationMs);
  const { frames, elapsed } = await page.evaluate<{ frames: number; elapsed: number }>(`(() => {
    window.__fps.counting = false;
    return { frames: window.__fps.frames, elapsed: performance.now() - window.__fps.started };
  })()`);
  return frames / (elapsed / 1000);
}

/** Waits until the page renders steadily again (all elements mounted and measured). */
async function settle(page: Page): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const idle = await framesDuring(page, (until) => new Promise((resolve) => setTimeout(resolve, until - Date.now())), 600);
    if (idle >= 50) return;
  }
}

async function measureBoard(page: Page, url: string, elements: number): Promise<{ pan: number; drag: number }> {
  await page.goto(url);
  await page.locator(".react-flow__node").first().waitFor({ state: "visible", timeout: 120_000 });
  await page.waitForFunction((count) => document.querySelectorAll(".react-flow__node").length >= count, elements, { timeout: 120_000 });
  await settle(page);
  const pane = await page.locator(".react-flow__pane").boundingBox();
  if (!pane) throw new Error("no canvas");
  const cx = pane.x + pane.width / 2;
  const cy = pane.y + pane.height / 2;

  // Pan: hold Space and drag, anywhere on the canvas.
  await page.mouse.move(cx, cy);
  await page.keyboard.down("Space");
  await page.mouse.down();
  const pan = await framesDuring(page, async (until) => {
    for (let step = 0; Date.now() < until; step++) await page.mouse.move(cx + 160 * Math.sin(step / 12), cy + 100 * Math.cos(step / 12));
  });
  await page.mouse.up();
  await page.keyboard.up("Space");
  await settle(page);

  // Drag an element in the middle of the view around.
  const target = page.locator(".react-flow__node-command").nth(Math.floor((await page.locator(".react-flow__node-command").count()) / 2));
  await target.scrollIntoViewIfNeeded();
  const box = await target.boundingBox();
  if (!box) throw new Error("no element to drag");
  const nx = box.x + box.width / 2;
  const ny = box.y + box.height / 3;
  await page.mouse.move(nx, ny);
  await page.mouse.down();
  const drag = await framesDuring(page, async (until) => {
    for (let step = 0; Date.now() < until; step++) await page.mouse.move(nx + 120 * Math.sin(step / 10), ny + 80 * Math.cos(step / 10));
  });
  await page.mouse.up();
  return { pan, drag };
}

export async function run(ctx?: BenchContext): Promise<Metric[]> {
  const app = await startApp(ctx);
  const executablePath = fs.existsSync("/usr/bin/chromium") ? "/usr/bin/chromium" : undefined;
  const browser = await chromium.launch({ executablePath, args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"] });
  try {
    const client = createTRPCClient<AppRouter>({ links: [httpLink({ url: `${app.base}/api/trpc`, transformer: superjson })] });
    const boards = {
      empty: { nodes: 1, edges: 0 },
      medium: { nodes: 500, edges: 600 },
      large: { nodes: 1000, edges: 1200 },
    };
    const ids: Record<keyof typeof boards, string> = { empty: "", medium: "", large: "" };
    for (const [key, shape] of Object.entries(boards) as [keyof typeof boards, { nodes: number; edges: number }][]) {
      const document = shape.nodes === 1 ? { schemaVersion: 1, nodes: [{ id: "only", type: "command", position: { x: 0, y: 0 }, width: 180, height: 80, data: dataFor("command", "Only") }], edges: [], process: { stuckAfterMs: 300_000 } } : canvasBoard(shape.nodes, shape.edges);
      const created = await client.board.create.mutate({ name: `Canvas bench ${key}`, document });
      ids[key] = created.id;
    }
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    // Warm the route (first compile, first render) before measuring.
    await measureBoard(page, `${app.base}/processes/${ids.empty}`, 1);
    const empty = await measureBoard(page, `${app.base}/processes/${ids.empty}`, 1);
    const medium = await measureBoard(page, `${app.base}/processes/${ids.medium}`, boards.medium.nodes);
    const large = await measureBoard(page, `${app.base}/processes/${ids.large}`, boards.large.nodes);
    const baseline = (empty.pan + empty.drag) / 2;
    const worst = (result: { pan: number; drag: number }) => Math.min(result.pan, result.drag);
    ctx?.log(`empty board: pan ${round(empty.pan, 1)} fps, drag ${round(empty.drag, 1)} fps`);
    ctx?.log(`500 nodes / 600 edges: pan ${round(medium.pan, 1)} fps, drag ${round(medium.drag, 1)} fps`);
    ctx?.log(`1,000 nodes / 1,200 edges: pan ${round(large.pan, 1)} fps, drag ${round(large.drag, 1)} fps`);
    const note = (required: number, result: { pan: number; drag: number }) =>
      `the slower of pan (${round(result.pan, 1)} fps) and drag (${round(result.drag, 1)} fps), headless Chromium without GPU; requirement ≥ ${required} fps (${worst(result) >= required ? "met" : "missed"}); baseline: a one-element board; target ratio = ${required} / ${DISPLAY_HZ} Hz`;
    return [
      metric({ id: "P8.canvas_fps_500", value: worst(medium), unit: "fps", baseline, target: round(55 / DISPLAY_HZ, 3), note: note(55, medium) }),
      metric({ id: "P8.canvas_fps_1000", value: worst(large), unit: "fps", baseline, target: round(30 / DISPLAY_HZ, 3), note: note(30, large) }),
    ];
  } finally {
    await browser.close();
    await app.stop();
  }
}
