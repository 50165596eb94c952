import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { openStorage } from "../db/storage.ts";
import { crashCounter } from "./crash-projection.ts";
import { createEventStore, Projector, queryReadModel } from "./index.ts";

const CHILD = path.resolve(import.meta.dirname, "crash-child.ts");
const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

/** Starts the child, lets it run for `runMs` after its first acknowledged append, SIGKILLs it; returns the acknowledged ids. */
function runAndKill(dataDir: string, runMs: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    // `node --import tsx` rather than the tsx CLI: the CLI runs the script in a grandchild that
    // SIGKILL would not reach.
    const child = spawn(process.execPath, ["--import", "tsx", CHILD, dataDir], {
      cwd: path.resolve(import.meta.dirname, "../.."),
      stdio: ["ignore", "pipe", "pipe"],
    });
    const acked: string[] = [];
    let buffered = "";
    let stderr = "";
    let killTimer: ReturnType<typeof setTimeout> | undefined;
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (chunk: string) => {
      buffered += chunk;
      const lines = buffered.split("\n");
      buffered = lines.pop()!;
      for (const line of lines) {
        if (!line.startsWith("ack ")) continue;
        acked.push(line.slice(4));
        killTimer ??= setTimeout(() => child.kill("SIGKILL"), runMs);
      }
    });
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("exit", (code, signal) => {
      clearTimeout(killTimer);
      if (signal === "SIGKILL") resolve(acked);
      else reject(new Error(`child exited with ${code ?? signal} before it was killed:\n${stderr}`));
    });
  });
}

describe("kill -9 during appends and projection on a PGlite directory", () => {
  it("keeps every acknowledged append and never applies an event twice", { timeout: 60_000 }, async () => {
    const parent = fs.mkdtempSync(path.join(os.tmpdir(), "sagaboard-crash-"));
    dirs.push(parent);
    const dataDir = path.join(parent, "data");
    const acknowledged: string[] = [];
    for (let round = 0; round < 3; round += 1) {
      const acked = await runAndKill(dataDir, 150 + Math.floor(Math.random() * 500));
      expect(acked.length).toBeGreaterThan(0);
      acknowledged.push(...acked);

      const storage = await openStorage({ dataDir });
      try {
        const stored = await storage.sql.query<{ message_id: string }>(`SELECT message_id FROM events WHERE message_id = ANY($1::text[])`, [
          acknowledged,
        ]);
        expect(stored.rows.length).toBe(acknowledged.length);

        const { rows } = await storage.sql.query<{ checkpoint: number; processed: number }>(
          `SELECT checkpoint, processed FROM projections WHERE name = 'crashCounter'`,
        );
        const { checkpoint, processed } = rows[0] ?? { checkpoint: 0, processed: 0 };
        const upToCheckpoint = await storage.sql.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM events e, events c
           WHERE c.position = $1 AND (e.transaction_id, e.position) <= (c.transaction_id, c.position)`,
          [checkpoint],
        );
        expect(processed).toBe(checkpoint === 0 ? 0 : upToCheckpoint.rows[0]!.n);
        const view = await queryReadModel<{ count: number; last: number }>(storage.sql, "crashCounter", { limit: 100 }).catch(() => undefined);
        const counted = (view?.rows ?? []).reduce((sum, row) => sum + row.data.count, 0);
        expect(counted).toBe(processed);
        // Streams are applied in version order, once each: the count is the last version seen.
        for (const row of view?.rows ?? []) expect(row.data.count).toBe(row.data.last);
      } finally {
        await storage.close();
      }
    }

    const storage = await openStorage({ dataDir });
    const store = createEventStore(storage);
    try {
      await new Projector(store, crashCounter).catchUp();
      const total = await storage.sql.query<{ n: number }>(`SELECT count(*)::int AS n FROM events`);
      const view = await queryReadModel<{ count: number; last: number }>(storage.sql, "crashCounter", { limit: 100 });
      expect(view.rows.reduce((sum, row) => sum + row.data.count, 0)).toBe(total.rows[0]!.n);
      for (const row of view.rows) expect((await store.readStream(row.key)).version).toBe(row.data.count);
      expect(total.rows[0]!.n).toBeGreaterThanOrEqual(acknowledged.length);
    } finally {
      await store.close();
      await storage.close();
    }
  });
});
