import { randomUUID } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openTestStorage, testStorageKinds, type TestStorage } from "../db/testing.ts";
import {
  appendToStream,
  ConcurrencyError,
  createEventStore,
  EventTooLargeError,
  IdempotencyConflictError,
  InvalidArgumentError,
  NotFoundError,
  type EventStore,
} from "./index.ts";

describe.each(testStorageKinds)("appending on %s", (kind) => {
  let storage: TestStorage;
  let store: EventStore;
  beforeEach(async () => {
    storage = await openTestStorage(kind);
    store = createEventStore(storage);
  });
  afterEach(async () => {
    await store.close();
    await storage.dispose();
  });

  it("appends, reads back in order, and reports versions and positions", async () => {
    const first = await store.append("order-1", [
      { type: "OrderPlaced", data: { total: 10 }, metadata: { context: "Orders", correlationId: "c-1" } },
      { type: "LineAdded", data: { sku: "A" }, metadata: { context: "Orders", correlationId: "c-1", causationId: "m-0" } },
    ], { expectedVersion: "no_stream" });
    expect(first.nextExpectedVersion).toBe(2);
    expect(first.positions).toHaveLength(2);
    expect(first.positions[1]!).toBeGreaterThan(first.positions[0]!);
    expect(first.duplicate).toBe(false);

    const second = await store.append("order-1", [{ type: "OrderConfirmed", data: {} }], { expectedVersion: 2 });
    expect(second.nextExpectedVersion).toBe(3);

    const slice = await store.readStream("order-1");
    expect(slice.version).toBe(3);
    expect(slice.events.map((e) => [e.streamVersion, e.type])).toEqual([
      [1, "OrderPlaced"],
      [2, "LineAdded"],
      [3, "OrderConfirmed"],
    ]);
    const placed = slice.events[0]!;
    expect(placed.data).toEqual({ total: 10 });
    expect(placed.metadata).toMatchObject({ context: "Orders", correlationId: "c-1" });
    expect(placed.metadata.messageId).toMatch(/^[0-9a-f-]{36}$/);
    expect(Date.parse(placed.metadata.recordedAt)).not.toBeNaN();
    expect(slice.events[1]!.metadata.causationId).toBe("m-0");
  });

  it("refuses a stale expected version with ConcurrencyError naming stream, expected and actual", async () => {
    await store.append("user-1", [{ type: "UserRegistered", data: {} }], { expectedVersion: "no_stream" });
    const stale = store.append("user-1", [{ type: "PasswordUpdated", data: {} }], { expectedVersion: 0 });
    await expect(stale).rejects.toBeInstanceOf(ConcurrencyError);
    await expect(stale).rejects.toMatchObject({ streamId: "user-1", expected: 0, actual: 1 });
    await expect(store.append("user-1", [{ type: "X", data: {} }], { expectedVersion: "no_stream" })).rejects.toMatchObject({
      code: "concurrency",
      expected: "no_stream",
      actual: 1,
    });
    await expect(store.append("nobody", [{ type: "X", data: {} }], { expectedVersion: 3 })).rejects.toMatchObject({ actual: 0 });
    // "any" appends regardless, and nothing of the refused appends was written.
    await store.append("user-1", [{ type: "PasswordUpdated", data: {} }], { expectedVersion: "any" });
    const slice = await store.readStream("user-1");
    expect(slice.events.map((e) => e.type)).toEqual(["UserRegistered", "PasswordUpdated"]);
    await expect(store.readStream("nobody")).rejects.toBeInstanceOf(NotFoundError);
  });

  it("is idempotent by message id, also through a new store over the same database", async () => {
    const ids = [randomUUID(), randomUUID()];
    const events = ids.map((messageId, i) => ({ type: "Paid", data: { i }, metadata: { messageId } }));
    const original = await store.append("pay-1", events);
    await store.append("pay-1", [{ type: "Refunded", data: {} }]);

    const again = await store.append("pay-1", events, { expectedVersion: 0 });
    expect(again).toEqual({ ...original, duplicate: true });

    const restarted = createEventStore(storage.sql);
    expect(await restarted.append("pay-1", events)).toEqual({ ...original, duplicate: true });
    await restarted.close();
    expect((await store.readStream("pay-1")).events).toHaveLength(3);

    // The same first id with other events, or on another stream, is a caller bug, not a retry.
    await expect(store.append("pay-1", [events[0]!, { type: "Other", data: {} }])).rejects.toBeInstanceOf(IdempotencyConflictError);
    await expect(store.append("pay-2", events)).rejects.toBeInstanceOf(IdempotencyConflictError);
    await expect(store.readStream("pay-2")).rejects.toBeInstanceOf(NotFoundError);
  });

  it("appends inside the caller's transaction, atomically with the caller's own writes", async () => {
    await storage.sql.exec(`CREATE TABLE outbox_probe (message_id text)`);
    const result = await storage.sql.transaction(async (tx) => {
      const appended = await appendToStream(tx, "saga-1", [{ type: "Started", data: {}, metadata: { messageId: "m-start" } }]);
      await tx.query(`INSERT INTO outbox_probe VALUES ($1)`, ["m-start"]);
      return appended;
    });
    expect(result.positions).toHaveLength(1);
    await expect(
      storage.sql.transaction(async (tx) => {
        await appendToStream(tx, "saga-1", [{ type: "Next", data: {} }], { expectedVersion: 1 });
        await tx.query(`INSERT INTO outbox_probe VALUES ($1)`, ["m-next"]);
        throw new Error("rolled back by the caller");
      }),
    ).rejects.toThrow("rolled back by the caller");
    // A conflict inside the caller's transaction leaves it usable.
    await storage.sql.transaction(async (tx) => {
      await expect(appendToStream(tx, "saga-1", [{ type: "Late", data: {} }], { expectedVersion: 0 })).rejects.toBeInstanceOf(ConcurrencyError);
      await tx.query(`INSERT INTO outbox_probe VALUES ($1)`, ["after-conflict"]);
    });
    expect((await store.readStream("saga-1")).events.map((e) => e.type)).toEqual(["Started"]);
    const outbox = await storage.sql.query<{ message_id: string }>(`SELECT message_id FROM outbox_probe ORDER BY 1`);
    expect(outbox.rows.map((r) => r.message_id)).toEqual(["after-conflict", "m-start"]);
  });

  it("has a database that refuses UPDATE, DELETE and TRUNCATE of events", async () => {
    await store.append("imm-1", [{ type: "Happened", data: { v: 1 } }]);
    await expect(storage.sql.query(`UPDATE events SET data = '{"v":2}'`)).rejects.toThrow(/immutable: UPDATE refused/);
    await expect(storage.sql.query(`DELETE FROM events`)).rejects.toThrow(/immutable: DELETE refused/);
    await expect(storage.sql.exec(`TRUNCATE events`)).rejects.toThrow(/immutable: TRUNCATE refused/);
    expect((await store.readStream("imm-1")).events[0]!.data).toEqual({ v: 1 });
  });

  it("refuses oversized events before writing anything, naming type and size", async () => {
    const small = createEventStore(storage.sql, { maxEventBytes: 2000 });
    const big = { blob: "x".repeat(3000) };
    const attempt = small.append("big-1", [
      { type: "Fine", data: {} },
      { type: "HugeUpload", data: big },
    ]);
    await expect(attempt).rejects.toBeInstanceOf(EventTooLargeError);
    await expect(attempt).rejects.toMatchObject({ eventType: "HugeUpload", limit: 2000 });
    await expect(attempt).rejects.toThrow(/HugeUpload" is 3\d{3} bytes serialized, over the limit of 2000 bytes/);
    await expect(store.readStream("big-1")).rejects.toBeInstanceOf(NotFoundError);
    await small.close();
    // The default limit is 1 MiB.
    await expect(store.append("big-2", [{ type: "Mega", data: { blob: "y".repeat(1024 * 1024) } }])).rejects.toMatchObject({
      code: "event_too_large",
      limit: 1024 * 1024,
    });
  });

  it("names malformed arguments in clear errors", async () => {
    await expect(store.append("", [{ type: "X", data: {} }])).rejects.toThrow(/Invalid stream id "": must be a non-empty string/);
    await expect(store.append("s", [])).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(store.append("s", [{ type: "", data: {} }])).rejects.toThrow(/Invalid event type ""/);
    await expect(store.append("s", [{ type: "X", data: undefined }])).rejects.toThrow(/is not a JSON value/);
    await expect(store.append("s", [{ type: "X", data: { text: "nul\u0000" } }])).rejects.toThrow(/NUL character/);
    await expect(store.append("s", [{ type: "X", data: {} }], { expectedVersion: -1 })).rejects.toThrow(/Invalid expected version -1/);
    await expect(store.append("s", [{ type: "X", data: {} }], { expectedVersion: 1.5 })).rejects.toThrow(/Invalid expected version 1.5/);
    const twice = { type: "X", data: {}, metadata: { messageId: "same" } };
    await expect(store.append("s", [twice, twice])).rejects.toThrow(/Invalid message id "same": appears twice/);
    await expect(store.readLog({ after: -5 })).rejects.toThrow(/Invalid after position -5: must be a non-negative integer/);
    await expect(store.readLog({ after: Number.NaN })).rejects.toThrow(/Invalid after position NaN/);
    await expect(store.readLog({ limit: 0 })).rejects.toThrow(/Invalid limit 0/);
    await expect(store.readStream("s", { fromVersion: 0 })).rejects.toThrow(/Invalid stream version 0/);
    await expect(store.readLog({ after: 12345 })).rejects.toMatchObject({ code: "not_found", subject: "position", id: 12345 });
    await expect(store.readLog({ filter: { types: [""] } })).rejects.toThrow(/Invalid type filter/);
  });

  it("lets exactly one of 32 concurrent writers win each version, with gapless versions", async () => {
    await store.append("contested", [{ type: "Created", data: {} }], { expectedVersion: "no_stream" });
    const writers = 32;
    const rounds = 4;
    const wins: number[] = [];
    let conflicts = 0;
    await Promise.all(
      Array.from({ length: writers }, async (_, writer) => {
        for (let round = 0; round < rounds; round += 1) {
          const version = await store.streamVersion("contested");
          try {
            await store.append("contested", [{ type: "Claimed", data: { writer, at: version } }], { expectedVersion: version });
            wins.push(version + 1);
          } catch (error) {
            expect(error).toBeInstanceOf(ConcurrencyError);
            const conflict = error as ConcurrencyError;
            expect(conflict.streamId).toBe("contested");
            expect(conflict.expected).toBe(version);
            expect(conflict.actual).toBeGreaterThan(version);
            conflicts += 1;
          }
        }
      }),
    );
    const slice = await store.readStream("contested");
    const versions = slice.events.map((e) => e.streamVersion);
    expect(versions).toEqual(Array.from({ length: versions.length }, (_, i) => i + 1));
    // Each stored event claimed the version it was appended at, and each win is distinct.
    expect(slice.events.slice(1).every((e) => (e.data as { at: number }).at === e.streamVersion - 1)).toBe(true);
    expect(new Set(wins).size).toBe(wins.length);
    expect(wins.length + conflicts).toBe(writers * rounds);
    expect(wins.length).toBe(versions.length - 1);
    expect(conflicts).toBeGreaterThan(0);
  });
});
