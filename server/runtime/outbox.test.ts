import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SharedTransactions } from "../db/shared-transactions.ts";
import { openTestStorage, testStorageKinds, type TestStorage } from "../db/testing.ts";
import { DEFAULT_RETRY_POLICY } from "./core/types.ts";
import { claim, enqueue, type NewOutboxMessage } from "./outbox.ts";

function command(messageId: string, streamKey: string): NewOutboxMessage {
  return {
    messageId,
    streamKey,
    kind: "command",
    boardId: "board",
    versionId: "board@1",
    targetId: "aggregate",
    contextId: null,
    instanceId: null,
    type: "DoIt",
    payload: { messageId },
    metadata: { correlationId: messageId, causationId: messageId, occurredAt: "2026-11-23T10:00:00.000Z", elementId: "do-it" },
    retry: DEFAULT_RETRY_POLICY,
  };
}

describe.each(testStorageKinds)("enqueue on %s", (kind) => {
  let storage: TestStorage;
  beforeEach(async () => {
    storage = await openTestStorage(kind);
  });
  afterEach(() => storage.dispose());

  const now = new Date("2026-11-23T10:00:00.000Z");
  const handoff = (token: string) => ({ token, leaseUntil: new Date(now.getTime() + 60_000) });

  it("hands over the first message only when it heads its stream", async () => {
    await storage.sql.transaction((tx) => enqueue(tx, [command("waiting", "stream-b")], now));
    const [free, behind] = await storage.sql.transaction((tx) =>
      Promise.all([enqueue(tx, [command("free-1", "stream-a"), command("free-2", "stream-a")], now, handoff("t-a")), enqueue(tx, [command("behind", "stream-b")], now, handoff("t-b"))]),
    );
    expect(free!.handedOff).toMatchObject({ messageId: "free-1", claimToken: "t-a", id: free!.ids[0] });
    expect(free!.ids[1]).toBeGreaterThan(free!.ids[0]!);
    expect(behind!.handedOff).toBeNull();
  });

  it("merged in a shared transaction, keeps each stream's order and hands over only the head of each stream", async () => {
    const shared = new SharedTransactions(storage.sql);
    const results = await Promise.all([
      shared.transaction((tx) => enqueue(tx, [command("a-1", "stream-a")], now, handoff("t-1"))),
      // Behind a-1 in the same statement: not the head, so not handed over.
      shared.transaction((tx) => enqueue(tx, [command("a-2", "stream-a")], now, handoff("t-2"))),
      shared.transaction((tx) => enqueue(tx, [command("c-1", "stream-c"), command("c-2", "stream-c")], now, handoff("t-3"))),
      shared.transaction((tx) => enqueue(tx, [command("d-1", "stream-d")], now)),
    ]);
    expect(shared.stats).toMatchObject({ groups: 1, fallbacks: 0 });
    expect(results.map((result) => result.handedOff?.messageId ?? null)).toEqual(["a-1", null, "c-1", null]);
    const ids = results.flatMap((result) => result.ids);
    expect([...ids].sort((a, b) => a - b)).toEqual(ids);

    // What a worker claims next: the heads nobody holds, never a row behind a held one.
    const claimed = await claim(storage.sql, { limit: 10, leaseMs: 60_000, now: new Date(now.getTime() + 1), token: "worker" });
    expect(claimed.map((message) => message.messageId)).toEqual(["d-1"]);
    const { rows } = await storage.sql.query<{ message_id: string; claim_token: string | null }>(`SELECT message_id, claim_token FROM runtime_outbox ORDER BY id`);
    expect(rows).toEqual([
      { message_id: "a-1", claim_token: "t-1" },
      { message_id: "a-2", claim_token: null },
      { message_id: "c-1", claim_token: "t-3" },
      { message_id: "c-2", claim_token: null },
      { message_id: "d-1", claim_token: "worker" },
    ]);
  });
});
