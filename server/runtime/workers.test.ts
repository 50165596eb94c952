/**
 * Competing workers: two workers share one outbox (in one process on both engines, in two
 * processes on PostgreSQL). No message is handled twice, and each stream's messages are handled
 * in the order they were queued: a user's password updates, each carrying the version the one
 * before it produces, are all accepted only if so.
 */
import { afterAll, describe, expect, it } from "vitest";
import { testStorageKinds } from "../db/testing.ts";
import { readStream } from "../eventstore/index.ts";
import { openHarness, type Harness } from "./testing/harness.ts";
import type { Storage } from "../db/storage.ts";
import { Runtime } from "./runtime.ts";
import { templateDefinition } from "./testing/boards.ts";
import { spawnWorkerChild, type WorkerChild } from "./testing/child.ts";
import { CRASH_BOARD, crashApplication } from "./testing/crash-fixtures.ts";
import { eventually, publishAndDeploy } from "./testing/harness.ts";
import { createPostgresSchema, type PostgresSchema } from "./testing/postgres-schema.ts";
import { createSink, outOfOrderStreams, sinkCounts, sinkHooks } from "./testing/sink.ts";

const USERS = 8;
const UPDATES = 15;
const INSTANCES = 20;

/** Per user: RegisterUser, then UpdatePassword 1..UPDATES, each based on the version the previous one makes. */
async function queueUserUpdates(runtime: Runtime): Promise<string[]> {
  await publishAndDeploy(runtime, "users", templateDefinition("user-registration"));
  const sent: string[] = [];
  for (let user = 0; user < USERS; user += 1) {
    const userId = `user-${user}`;
    sent.push((await runtime.sendCommand({ boardId: "users", name: "RegisterUser", payload: { userId, userName: `name-${user}`, password: "h-0", email: `u${user}@example.org` } })).messageId);
    for (let update = 1; update <= UPDATES; update += 1) {
      sent.push((await runtime.sendCommand({ boardId: "users", name: "UpdatePassword", payload: { userId, newPassword: `h-${update}`, originalVersion: update } })).messageId);
    }
  }
  return sent;
}

async function expectUpdatesInOrder(runtime: Runtime, sent: string[]): Promise<void> {
  const outcomes = await Promise.all(sent.map((messageId) => runtime.commandOutcome(messageId)));
  expect(outcomes.filter((outcome) => outcome.kind !== "accepted")).toEqual([]);
  for (let user = 0; user < USERS; user += 1) {
    const stream = await readStream(runtime.sql, `users:User:user-${user}`);
    expect(stream.events.map((event) => event.type)).toEqual(["UserRegistered", ...Array.from({ length: UPDATES }, () => "PasswordUpdated")]);
  }
}

describe.each(testStorageKinds)("two workers in one process on %s", (kind) => {
  let harness: Harness;
  afterAll(() => harness?.dispose());

  it("share the work without handling a message twice and keep each stream's order", { timeout: 120_000 }, async () => {
    harness = await openHarness(kind, { worker: false });
    await createSink(harness.storage.sql);
    const sent = await queueUserUpdates(harness.runtime);
    // Two runtimes (each with its caches) over the same store, as two processes would be.
    const first = new Runtime(harness.storage, { hooks: sinkHooks("first") });
    const second = new Runtime(harness.storage, { hooks: sinkHooks("second") });
    const workers = [first.startWorker({ pollIntervalMs: 20, concurrency: 4 }), second.startWorker({ pollIntervalMs: 20, concurrency: 4 })];
    try {
      await eventually(async () => ((await harness.storage.sql.query<{ n: number }>(`SELECT count(*)::int AS n FROM runtime_outbox`)).rows[0]!.n === 0 ? true : undefined), "an empty outbox", 100_000, 50);
    } finally {
      await first.close();
      await second.close();
    }
    const sink = await sinkCounts(harness.storage.sql);
    expect(sink.duplicated).toBe(0);
    expect(sink.effects).toBe(USERS * (UPDATES + 1));
    expect(workers.every((worker) => worker.stats.handled > 0)).toBe(true);
    expect(await outOfOrderStreams(harness.storage.sql)).toEqual([]);
    await expectUpdatesInOrder(harness.runtime, sent);
  });
});

describe.each(testStorageKinds.filter((kind) => kind === "postgresql"))("two worker processes on %s", () => {
  const children: WorkerChild[] = [];
  let schema: PostgresSchema;
  let storage: Storage;
  let runtime: Runtime;
  afterAll(async () => {
    for (const child of children) child.process.kill("SIGKILL");
    await runtime?.close();
    await storage?.close();
    await schema?.drop();
  });

  it("share the work without handling a message twice and keep each stream's order", { timeout: 180_000 }, async () => {
    schema = await createPostgresSchema(process.env.TEST_DATABASE_URL!);
    storage = schema.open(4);
    runtime = new Runtime(storage);
    await createSink(storage.sql);
    const sent = await queueUserUpdates(runtime);

    for (const worker of ["worker-a", "worker-b"]) children.push(spawnWorkerChild(["postgresql", schema.url, schema.schema, String(INSTANCES), worker]));
    await eventually(
      async () => {
        const { rows } = await storage.sql.query<{ outbox: number; completed: number }>(
          `SELECT (SELECT count(*) FROM runtime_outbox)::int AS outbox, (SELECT count(*) FROM runtime_instances WHERE status = 'completed')::int AS completed`,
        );
        return rows[0]!.outbox === 0 && rows[0]!.completed === INSTANCES ? true : undefined;
      },
      "both workers to finish",
      150_000,
      200,
    );
    for (const child of children) child.process.kill("SIGKILL");
    await Promise.all(children.map((child) => child.exited));

    const sink = await sinkCounts(storage.sql);
    expect(sink.duplicated).toBe(0);
    expect(sink.byKind).toEqual({ command: USERS * (UPDATES + 1) + INSTANCES * 3, event: INSTANCES * 4 });
    expect(Object.keys(sink.byWorker).sort()).toEqual(["worker-a", "worker-b"]);
    expect(Math.min(...Object.values(sink.byWorker))).toBeGreaterThan(0);
    expect(await outOfOrderStreams(storage.sql)).toEqual([]);

    await expectUpdatesInOrder(runtime, sent);
    expect((await runtime.listInstances({ boardId: CRASH_BOARD, status: "completed", limit: 200 })).instances).toHaveLength(INSTANCES);
  });
});

describe.each(testStorageKinds)("two runtimes starting the same messages at once on %s", (kind) => {
  let harness: Harness;
  afterAll(() => harness?.dispose());

  it("store each message once: one start stores it, the other reports a duplicate", async () => {
    harness = await openHarness(kind, { worker: false });
    await publishAndDeploy(harness.runtime, CRASH_BOARD, templateDefinition("insurance-quote"));
    // Each with its own connections, as two app processes would be.
    const runtimes = [new Runtime(harness.storage), new Runtime(harness.storage)];
    const ids = Array.from({ length: 20 }, (_, index) => index);
    for (const index of ids) {
      // One start at a time in each runtime: a transaction of its own, not a shared one that would run it again alone.
      const pair = await Promise.all(runtimes.map((runtime) => runtime.start({ boardId: CRASH_BOARD, payload: crashApplication(index), messageId: `same-start-${index}` })));
      expect(pair.map((result) => result.duplicate).sort()).toEqual([false, true]);
      expect(pair[0]!.instanceId).toBe(pair[1]!.instanceId);
      expect((await readStream(harness.storage.sql, `${CRASH_BOARD}:inbound:same-start-${index}`)).events).toHaveLength(1);
    }
    const { rows } = await harness.storage.sql.query<{ message: string; n: number }>(
      `SELECT metadata -> 'delivery' -> 'meta' ->> 'messageId' AS message, count(*)::int AS n FROM runtime_outbox GROUP BY 1 ORDER BY 1`,
    );
    expect(rows).toHaveLength(ids.length);
    expect(rows.every((row) => row.n === 1)).toBe(true);
    await Promise.all(runtimes.map((runtime) => runtime.close()));
  });
});
