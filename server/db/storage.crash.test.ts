import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect, it } from "vitest";
import { openStorage } from "./storage.ts";



/** Starts the writer, lets it acknowledge a random number of writes, then SIGKILLs it. */
function writeUntilKilled(dataDir: string, acksBeforeKill: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", path.join(import.meta.dirname, "crash-writer.ts"), dataDir], {
      cwd: path.resolve(import.meta.dirname, "../.."),
      stdio: ["ignore", "pipe", "pipe"],
    });
    const acked: string[] = [];
    let buffered = "";
    let stderr = "";
    child.stderr.on("data", (chunk) => (stderr += chunk));
    child.stdout.on("data", (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split("\n");
      buffered = lines.pop()!;
      for (const line of lines) if (line.startsWith("ack ")) acked.push(line.slice(4));
      if (acked.length >= acksBeforeKill && child.exitCode === null) child.kill("SIGKILL");
    });
    child.on("exit", (code, signal) => (signal === "SIGKILL" ? resolve(acked) : reject(new Error(`writer exited ${code}: ${stderr}`))));
  });
}

it("keeps every acknowledged write across repeated kill -9 and reopens cleanly", { timeout: 120_000 }, async () => {
  const dataDir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "sagaboard-crash-")), "data");
  try {
    const acknowledged: string[] = [];
    for (let round = 0; round < 3; round++) {
      acknowledged.push(...(await writeUntilKilled(dataDir, 20 + Math.floor(Math.random() * 60))));
    }
    // The dead writer's lock is taken over; the store opens and holds every acknowledged row.
    const storage = await openStorage({ dataDir });
    try {
      const stored = new Set((await storage.prisma.board.findMany({ select: { id: true } })).map((b) => b.id));
      const lost = acknowledged.filter((id) => !stored.has(id));
      expect(acknowledged.length).toBeGreaterThanOrEqual(60);
      expect(lost).toEqual([]);
    } finally {
      await storage.close();
    }
  } finally {
    fs.rmSync(path.dirname(dataDir), { recursive: true, force: true });
  }
});
