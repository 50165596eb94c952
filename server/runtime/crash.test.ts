/**
 * kill -9 of a worker process at random points while it runs many instances of the insurance
 * quote process; restarted each time. In the end every instance has completed, no command was
 * lost (each one issued was handled), and no effect happened twice (counted at a sink, in the
 * handlers' transactions, by message id).
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { openStorage, type Storage } from "../db/storage.ts";
import { testStorageKinds } from "../db/testing.ts";
import { readStream } from "../eventstore/index.ts";
import { createPostgresSchema, type PostgresSchema } from "./testing/postgres-schema.ts";
import { CRASH_BOARD } from "./testing/crash-fixtures.ts";
import { spawnWorkerChild } from "./testing/child.ts";
import { outOfOrderStreams, sinkCounts } from "./testing/sink.ts";

const INSTANCES = 24;
const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

interface ChildRun {
  completed: number;
  killedAt: "running" | "finished";
}

/** Runs the child; SIGKILLs it `killAfterMs` after it is ready, or once every instance completed. */
async function runChild(args: string[], killAfterMs: number | null): Promise<ChildRun> {
  const child = spawnWorkerChild(args);
  let completed = 0;
  let killedAt: ChildRun["killedAt"] = "running";
  let timer: ReturnType<typeof setTimeout> | undefined;
  const giveUp = setTimeout(() => child.process.kill("SIGKILL"), 90_000);
  child.onLine((line) => {
    if (line.startsWith("ready") && killAfterMs !== null) timer ??= setTimeout(() => child.process.kill("SIGKILL"), killAfterMs);
    const match = /^completed (\d+)/.exec(line);
    if (!match) return;
    completed = Number(match[1]);
    if (completed === INSTANCES && killAfterMs === null) {
      killedAt = "finished";
      child.process.kill("SIGKILL");
    }
  });
  try {
    expect(await child.exited).toBe("SIGKILL");
  } finally {
    clearTimeout(timer);
    clearTimeout(giveUp);
  }
  return { completed, killedAt };
}

async function verify(storage: Storage): Promise<void> {
  const sql = storage.sql;
  const instances = await sql.query<{ status: string; n: number }>(`SELECT status, count(*)::int AS n FROM runtime_instances GROUP BY status`);
  expect(instances.rows).toEqual([{ status: "completed", n: INSTANCES }]);
  const outbox = await sql.query<{ n: number }>(`SELECT count(*)::int AS n FROM runtime_outbox`);
  expect(outbox.rows[0]!.n).toBe(0);

  // Every command an instance issued reached its aggregate's inbox: none was lost.
  const lost = await sql.query<{ message_id: string }>(
    `SELECT e.data->>'messageId' AS message_id FROM events e
     WHERE e.type = '$CommandIssued' AND NOT EXISTS (SELECT 1 FROM runtime_inbox i WHERE i.message_id = e.data->>'messageId' AND i.consumer LIKE 'aggregate:%')`,
  );
  expect(lost.rows).toEqual([]);
  const issued = await sql.query<{ n: number }>(`SELECT count(*)::int AS n FROM events WHERE type = '$CommandIssued'`);
  expect(issued.rows[0]!.n).toBe(INSTANCES * 3);

  // Per instance: 3 commands handled and 4 events delivered, each exactly once.
  const sink = await sinkCounts(sql);
  expect(sink.duplicated).toBe(0);
  expect(sink.byKind).toEqual({ command: INSTANCES * 3, event: INSTANCES * 4 });
  expect(await outOfOrderStreams(sql)).toEqual([]);
  for (let index = 0; index < INSTANCES; index += 1) {
    const quote = await readStream(sql, `${CRASH_BOARD}:PremiumQuote:APP-${index}-Q`);
    expect(quote.events.map((event) => event.type)).toEqual(["QuoteGenerated"]);
  }
}

describe.each(testStorageKinds)("kill -9 of the worker on %s", (kind) => {
  it("completes every instance with no lost command and no duplicated effect", { timeout: 240_000 }, async () => {
    let args: string[];
    let open: () => Promise<Storage>;
    if (kind === "pglite") {
      const parent = fs.mkdtempSync(path.join(os.tmpdir(), "sagaboard-runtime-crash-"));
      cleanups.push(() => fs.rmSync(parent, { recursive: true, force: true }));
      const dataDir = path.join(parent, "data");
      args = ["pglite", dataDir, String(INSTANCES)];
      open = () => openStorage({ dataDir });
    } else {
      const schema: PostgresSchema = await createPostgresSchema(process.env.TEST_DATABASE_URL!);
      cleanups.push(() => schema.drop());
      args = ["postgresql", schema.url, schema.schema, String(INSTANCES)];
      open = async () => schema.open(2);
    }

    let kills = 0;
    for (let round = 0; round < 12; round += 1) {
      const run = await runChild(args, round < 4 ? 300 + Math.floor(Math.random() * 1200) : null);
      if (run.killedAt === "running") kills += 1;
      // Between restarts, nothing was done twice so far.
      const storage = await open();
      try {
        expect((await sinkCounts(storage.sql)).duplicated).toBe(0);
      } finally {
        await storage.close();
      }
      if (run.killedAt === "finished") break;
    }
    expect(kills).toBeGreaterThanOrEqual(4);

    const storage = await open();
    try {
      await verify(storage);
    } finally {
      await storage.close();
    }
  });
});
