import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SharedTransactions } from "../db/shared-transactions.ts";
import { testStorageKinds } from "../db/testing.ts";
import { ConcurrencyError } from "../eventstore/index.ts";
import { CommitLog, recordDomainEvents, type DomainEventToRecord } from "./recording.ts";
import { templateDefinition } from "./testing/boards.ts";
import { crashApplication } from "./testing/crash-fixtures.ts";
import { openHarness, publishAndDeploy, type Harness } from "./testing/harness.ts";
import type { LoadedVersion } from "./versions.ts";

const BOARD = "recording-quotes";
const now = new Date("2026-11-23T10:00:00.000Z");

describe.each(testStorageKinds)("recording domain events on %s", (kind) => {
  let harness: Harness;
  let version: LoadedVersion;

  beforeAll(async () => {
    // No worker: the deliveries stay in the outbox to be counted.
    harness = await openHarness(kind, { worker: false });
    await publishAndDeploy(harness.runtime, BOARD, templateDefinition("insurance-quote"));
    version = await harness.runtime.deployedVersion(BOARD);
  });
  afterAll(() => harness.dispose());

  const submitted = (applicationId: string): DomainEventToRecord => {
    const definition = version.index.eventsByName.get("ApplicationSubmitted")!;
    return { definition, messageId: `submitted-${applicationId}`, context: definition.context, payload: { ...crashApplication(0), applicationId } };
  };
  const chain = { correlationId: "c", causationId: "c", occurredAt: now.toISOString() };
  const deliveriesOf = async (messageId: string) =>
    (
      await harness.runtime.sql.query<{ message_id: string; version: number }>(
        `SELECT message_id, (metadata -> 'delivery' -> 'meta' ->> 'version')::int AS version FROM runtime_outbox WHERE metadata -> 'delivery' -> 'meta' ->> 'messageId' = $1`,
        [messageId],
      )
    ).rows;

  it("writes the deliveries an event causes, with the event's stream version, and none when the event was stored before", async () => {
    const record = (log: CommitLog) => harness.runtime.sql.transaction((tx) => recordDomainEvents(tx, log, version, "recording:a-1", [submitted("a-1")], chain, { expectedVersion: "no_stream", now }));
    const first = new CommitLog(now);
    const stored = await record(first);
    expect(stored.duplicate).toBe(false);
    expect(await deliveriesOf("submitted-a-1")).toEqual([expect.objectContaining({ version: 1 })]);
    expect(first.inspection.map((entry) => entry.kind)).toEqual(["message.appended", "message.queued"]);

    const again = new CommitLog(now);
    const duplicate = await record(again);
    expect(duplicate).toMatchObject({ duplicate: true, positions: stored.positions });
    expect(await deliveriesOf("submitted-a-1")).toHaveLength(1);
    expect(again.inspection).toEqual([]);
    expect(again.next).toBeNull();
  });

  it("numbers the deliveries from the expected version, and writes none when the append conflicts", async () => {
    const stream = "recording:b-1";
    await harness.runtime.sql.transaction((tx) => recordDomainEvents(tx, new CommitLog(now), version, stream, [submitted("b-1")], chain, { expectedVersion: "no_stream", now }));
    const second = { ...submitted("b-1"), messageId: "submitted-b-1-again" };
    await expect(
      harness.runtime.sql.transaction((tx) => recordDomainEvents(tx, new CommitLog(now), version, stream, [second], chain, { expectedVersion: 0, now })),
    ).rejects.toBeInstanceOf(ConcurrencyError);
    expect(await deliveriesOf("submitted-b-1-again")).toEqual([]);
    await harness.runtime.sql.transaction((tx) => recordDomainEvents(tx, new CommitLog(now), version, stream, [second], chain, { expectedVersion: 1, now }));
    expect(await deliveriesOf("submitted-b-1-again")).toEqual([expect.objectContaining({ version: 2 })]);
  });

  it("in a shared transaction, a duplicate takes back only its own deliveries", async () => {
    await harness.runtime.sql.transaction((tx) => recordDomainEvents(tx, new CommitLog(now), version, "recording:c-1", [submitted("c-1")], chain, { expectedVersion: "no_stream", now }));
    const shared = new SharedTransactions(harness.runtime.sql);
    const [duplicate, fresh] = await Promise.all(
      ["c-1", "c-2"].map((id) => shared.transaction((tx) => recordDomainEvents(tx, new CommitLog(now), version, `recording:${id}`, [submitted(id)], chain, { expectedVersion: "no_stream", now }))),
    );
    expect(shared.stats).toMatchObject({ groups: 1, bodies: 2, fallbacks: 0 });
    expect(duplicate!.duplicate).toBe(true);
    expect(fresh!.duplicate).toBe(false);
    expect(await deliveriesOf("submitted-c-1")).toHaveLength(1);
    expect(await deliveriesOf("submitted-c-2")).toHaveLength(1);
  });
});
