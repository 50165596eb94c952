/**
 * Durable timers across a restart: a deadline or a timer set before the store was closed fires
 * after it was reopened by a new runtime, once the (injected) clock reaches it, and not before.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { openStorage, type Storage } from "../db/storage.ts";
import { testStorageKinds } from "../db/testing.ts";
import { readStream } from "../eventstore/index.ts";
import { Runtime } from "./runtime.ts";
import { orderSagaDefinition, reminderDefinition, templateDefinition } from "./testing/boards.ts";
import { startCarrier, type Carrier } from "./testing/carrier.ts";
import { eventually, ManualClock, publishAndDeploy } from "./testing/harness.ts";
import { createPostgresSchema } from "./testing/postgres-schema.ts";

const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

async function reopenable(kind: string): Promise<() => Promise<Storage>> {
  if (kind === "pglite") {
    const parent = fs.mkdtempSync(path.join(os.tmpdir(), "sagaboard-runtime-restart-"));
    cleanups.push(() => fs.rmSync(parent, { recursive: true, force: true }));
    const dataDir = path.join(parent, "data");
    return () => openStorage({ dataDir });
  }
  const schema = await createPostgresSchema(process.env.TEST_DATABASE_URL!);
  cleanups.push(() => schema.drop());
  return async () => schema.open(4);
}

/** Runs `session` with a fresh store, runtime and worker, then shuts all of them down. */
async function session<T>(open: () => Promise<Storage>, clock: ManualClock, session: (runtime: Runtime) => Promise<T>): Promise<T> {
  const storage = await open();
  const runtime = new Runtime(storage, { clock });
  runtime.startWorker({ pollIntervalMs: 20 });
  try {
    return await session(runtime);
  } finally {
    await runtime.close();
    await storage.close();
  }
}

const statusOf = async (runtime: Runtime, instanceId: string) => (await runtime.getInstance(instanceId).catch(() => undefined))?.instance.status;

describe.each(testStorageKinds)("timers across a restart on %s", (kind) => {
  let carrier: Carrier;
  afterAll(() => carrier?.close());

  it("fires a deadline set before the restart after it, and compensates", { timeout: 90_000 }, async () => {
    carrier = await startCarrier(null);
    const open = await reopenable(kind);
    const clock = new ManualClock();
    const started = await session(open, clock, async (runtime) => {
      await publishAndDeploy(runtime, "restart-orders", orderSagaDefinition({ carrierUrl: carrier.url, shippingDeadlineMs: 60_000 }));
      const order = await runtime.start({ boardId: "restart-orders", payload: { orderId: "r-1", amount: 40, customer: "ada" } });
      await eventually(async () => ((await runtime.getInstance(order.instanceId).catch(() => undefined))?.timers[0]?.status === "scheduled" ? true : undefined), "the deadline to be set");
      return order;
    });

    clock.advance(30_000);
    await session(open, clock, async (runtime) => {
      await new Promise((resolve) => setTimeout(resolve, 300));
      const detail = await runtime.getInstance(started.instanceId);
      expect(detail.instance.status).toBe("running");
      expect(detail.timers).toEqual([expect.objectContaining({ kind: "deadline", status: "scheduled" })]);
    });

    clock.advance(31_000);
    await session(open, clock, async (runtime) => {
      await eventually(async () => ((await statusOf(runtime, started.instanceId)) === "compensated" ? true : undefined), "compensation after the restart");
      const payment = await readStream(runtime.sql, "restart-orders:Payment:r-1");
      expect(payment.events.map((event) => event.type)).toEqual(["PaymentCharged", "PaymentRefunded"]);
      const detail = await runtime.getInstance(started.instanceId);
      expect(detail.timers).toEqual([expect.objectContaining({ kind: "deadline", status: "fired" })]);
    });
  });

  it("fires a timer that triggers a step after the restart", { timeout: 90_000 }, async () => {
    const open = await reopenable(kind);
    const clock = new ManualClock();
    const started = await session(open, clock, async (runtime) => {
      await publishAndDeploy(runtime, "restart-reminder", reminderDefinition());
      const member = await runtime.start({ boardId: "restart-reminder", payload: { memberId: "m-1", email: "m@example.org" } });
      await eventually(async () => ((await runtime.getInstance(member.instanceId).catch(() => undefined))?.timers[0]?.status === "scheduled" ? true : undefined), "the timer to be set");
      return member;
    });
    clock.advance(30_001);
    await session(open, clock, async (runtime) => {
      await eventually(async () => ((await statusOf(runtime, started.instanceId)) === "completed" ? true : undefined), "the welcome after the restart");
      const mailbox = await readStream(runtime.sql, "restart-reminder:Mailbox:m-1");
      expect(mailbox.events.map((event) => event.type)).toEqual(["WelcomeSent"]);
    });
  });

  it("starts instances after a restart, before the new runtime has read the deployed version", { timeout: 60_000 }, async () => {
    const open = await reopenable(kind);
    const clock = new ManualClock();
    await session(open, clock, (runtime) => publishAndDeploy(runtime, "restart-quotes", templateDefinition("insurance-quote")));
    await session(open, clock, async (runtime) => {
      // Several at once: they share one transaction, which reads the version itself (on PGlite a read beside it would wait for it forever).
      const started = await Promise.all(
        ["Q-1", "Q-2", "Q-3"].map((applicationId) =>
          runtime.start({
            boardId: "restart-quotes",
            payload: {
              applicationId,
              applicant: { firstName: "Ada", lastName: "Lovelace", dateOfBirth: "1815-12-10", postcode: "W1" },
              coverage: { product: "home", sumInsured: 80_000, deductible: 500, startDate: "2027-01-01T00:00:00.000Z" },
              submittedAt: "2026-11-23T10:00:00.000Z",
            },
          }),
        ),
      );
      for (const { instanceId } of started) await eventually(async () => ((await statusOf(runtime, instanceId)) === "completed" ? true : undefined), `${instanceId} to complete`);
      expect(runtime.shared.inbound.stats).toMatchObject({ bodies: 3, fallbacks: 0 });
    });
  });
});
