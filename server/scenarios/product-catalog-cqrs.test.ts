/**
 * SEEDS 002 over the machine's NATS: supplier products arrive on a subject shared by a queue
 * group of three competing consumers (each message taken by exactly one), ProductInserted leaves
 * on product.inserted with its id in Nats-Msg-Id, and an outbound message waits out a broker
 * outage (retried with backoff, parked in the dead-letter queue, redriven once NATS is back).
 */
import net from "node:net";
import { connect, type NatsConnection } from "nats";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testStorageKinds } from "../db/testing.ts";
import { readStream } from "../eventstore/index.ts";
import { Runtime } from "../runtime/index.ts";
import { openHarness, type Harness } from "../runtime/testing/harness.ts";
import { BusConnections } from "../buses/connections.ts";
import { jetStreamNameFor } from "../buses/nats.ts";
import { compileTemplate, eventually, publishAndDeploy, withUniqueAddresses } from "./scenario.ts";

const NATS_HOST = "127.0.0.1";
const NATS_PORT = Number(process.env.TEST_NATS_PORT ?? 4222);

interface Heard {
  subject: string;
  messageId: string | undefined;
  payload: unknown;
}

async function listen(connection: NatsConnection, subject: string): Promise<Heard[]> {
  const heard: Heard[] = [];
  connection.subscribe(subject, {
    callback: (error, message) => {
      if (!error) heard.push({ subject: message.subject, messageId: message.headers?.get("Nats-Msg-Id"), payload: JSON.parse(new TextDecoder().decode(message.data)) });
    },
  });
  await connection.flush();
  return heard;
}

/** The queue group made a JetStream stream for this run's supplier subject; it is not left behind. */
async function dropSupplierStream(connection: NatsConnection | undefined, address: (original: string) => string) {
  if (!connection) return;
  const jsm = await connection.jetstreamManager();
  await jsm.streams.delete(jetStreamNameFor(address("supplier.products.*"))).catch(() => false);
}

/** A TCP relay to NATS that can be taken away and brought back, as a broker outage. */
function relay() {
  let server: net.Server | null = null;
  const sockets = new Set<net.Socket>();
  let port = 0;
  return {
    get url() {
      return `${NATS_HOST}:${port}`;
    },
    async reserve() {
      const probe = net.createServer();
      await new Promise<void>((resolve) => probe.listen(0, NATS_HOST, resolve));
      port = (probe.address() as net.AddressInfo).port;
      await new Promise((resolve) => probe.close(resolve));
    },
    async up() {
      server = net.createServer((client) => {
        const upstream = net.connect(NATS_PORT, NATS_HOST);
        for (const socket of [client, upstream]) {
          sockets.add(socket);
          socket.on("error", () => {});
          socket.on("close", () => {
            sockets.delete(socket);
            client.destroy();
            upstream.destroy();
          });
        }
        client.pipe(upstream).pipe(client);
      });
      await new Promise<void>((resolve) => server!.listen(port, NATS_HOST, resolve));
    },
    async down() {
      for (const socket of sockets) socket.destroy();
      if (server) await new Promise((resolve) => server!.close(resolve));
      server = null;
    },
  };
}

const REDIS_URL = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";

describe.each(testStorageKinds)("product catalog over NATS on %s", { timeout: 90_000 }, (kind) => {
  let harness: Harness;
  let outside: NatsConnection;
  const members: { runtime: Runtime; buses: BusConnections }[] = [];
  const { definition, address } = withUniqueAddresses(compileTemplate("product-catalog-cqrs", "catalog"));

  beforeAll(async () => {
    harness = await openHarness(kind);
    await publishAndDeploy(harness.runtime, "catalog", definition);
    outside = await connect({ servers: `${NATS_HOST}:${NATS_PORT}` });
    // Three workers' bus connections: the queue group "catalog" has three members.
    for (let index = 0; index < 3; index++) {
      const runtime = index === 0 ? harness.runtime : new Runtime(harness.storage);
      const buses = new BusConnections({ runtime, redisUrl: REDIS_URL, natsServers: `${NATS_HOST}:${NATS_PORT}`, pollIntervalMs: 200 });
      await buses.start();
      members.push({ runtime, buses });
    }
  });
  afterAll(async () => {
    for (const member of members) {
      await member.buses.close();
      if (member.runtime !== harness.runtime) await member.runtime.close();
    }
    await dropSupplierStream(outside, address);
    await outside?.close();
    await harness?.dispose();
  });

  it("gives each supplier product to exactly one member of the queue group and publishes ProductInserted", async () => {
    const inserted = await listen(outside, address("product.inserted"));
    for (const member of members) {
      expect(member.buses.status().bindings.find((binding) => binding.direction === "inbound" && binding.kind === "nats")).toMatchObject({
        kind: "nats",
        group: "catalog",
        subscription: { state: "subscribed" },
      });
    }
    const count = 30;
    const supplierSubject = address("supplier.products.*").replace("*", "acme");
    for (let index = 0; index < count; index++) {
      outside.publish(supplierSubject, new TextEncoder().encode(JSON.stringify({ title: ` Lamp ${index} `, code: `SKU-${index}`, quantity: String(index) })));
    }
    await outside.flush();

    const received = () => members.map((member) => member.buses.status().bindings.find((binding) => binding.direction === "inbound" && binding.kind === "nats")!.received);
    await eventually(async () => received().reduce((sum, value) => sum + value, 0) >= count || undefined, "every supplier product to be received");
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(received().reduce((sum, value) => sum + value, 0)).toBe(count);
    expect(received().filter((value) => value > 0).length).toBeGreaterThan(1);

    await eventually(async () => inserted.length >= count || undefined, "every ProductInserted on product.inserted", 20_000);
    expect(inserted.map((message) => (message.payload as { sku: string }).sku).sort()).toEqual(Array.from({ length: count }, (_, index) => `SKU-${index}`).sort());
    expect(inserted.find((message) => (message.payload as { sku: string }).sku === "SKU-7")?.payload).toEqual({ name: "Lamp 7", sku: "SKU-7", stock_count: 7 });
    expect(new Set(inserted.map((message) => message.messageId)).size).toBe(count);

    for (let index = 0; index < count; index++) {
      const stream = await readStream(harness.storage.sql, `catalog:Product:SKU-${index}`);
      expect(stream.events.map((event) => event.type)).toEqual(["ProductInserted"]);
      await expect(readStream(harness.storage.sql, `catalog:Product:SKU-${index}:rejections`)).rejects.toThrow(/does not exist/);
    }
    const stored = await readStream(harness.storage.sql, "catalog:Product:SKU-7");
    expect(inserted.find((message) => (message.payload as { sku: string }).sku === "SKU-7")?.messageId).toBeDefined();
    expect(stored.events[0]!.data).toMatchObject({ name: "Lamp 7", sku: "SKU-7", stockCount: 7 });
  });

  it("takes stock changes from the Redis work queue, each entry once across the three workers, and acknowledges them", async () => {
    const queue = address("catalog.stock-updates");
    for (const member of members) {
      expect(member.buses.status().bindings.find((binding) => binding.direction === "inbound" && binding.kind === "redis")).toMatchObject({
        address: queue,
        subscription: { state: "subscribed" },
      });
    }
    const redis = new Redis(REDIS_URL);
    try {
      for (let index = 0; index < 5; index++) {
        await redis.xadd(queue, "*", "data", JSON.stringify({ id: `stock-${queue}-${index}`, name: "stock.changed", payload: { sku: `SKU-${index}`, stockCount: 100 + index } }));
      }
      for (let index = 0; index < 5; index++) {
        const changed = await eventually(async () => {
          const stream = await readStream(harness.storage.sql, `catalog:Product:SKU-${index}`);
          return stream.events.length >= 2 ? stream.events : undefined;
        }, `StockCountChanged for SKU-${index}`, 20_000);
        expect(changed.map((event) => [event.type, (event.data as { stockCount: number }).stockCount])).toEqual([
          ["ProductInserted", index],
          ["StockCountChanged", 100 + index],
        ]);
      }
      const groups = (await redis.xinfo("GROUPS", queue)) as unknown[][];
      const pending = groups.map((group) => Number(group[group.indexOf("pending") + 1]));
      expect(pending).toEqual([0]);
    } finally {
      await redis.del(queue);
      redis.disconnect();
    }
  });
});

describe.each(testStorageKinds)("outbound NATS messages across a broker outage on %s", { timeout: 90_000 }, (kind) => {
  let harness: Harness;
  let buses: BusConnections;
  let outside: NatsConnection;
  const broker = relay();
  const { definition, address } = withUniqueAddresses(compileTemplate("product-catalog-cqrs", "outage"));

  beforeAll(async () => {
    harness = await openHarness(kind, { worker: { externalTimeoutMs: 300 } });
    await publishAndDeploy(harness.runtime, "outage", definition);
    await broker.reserve();
    buses = new BusConnections({ runtime: harness.runtime, natsServers: broker.url, pollIntervalMs: 200 });
    void buses.start();
    outside = await connect({ servers: `${NATS_HOST}:${NATS_PORT}` });
  });
  afterAll(async () => {
    await buses?.close();
    await broker.down();
    await dropSupplierStream(outside, address);
    await outside?.close();
    await harness?.dispose();
  });

  const externalRow = async (sku: string) => {
    const { rows } = await harness.storage.sql.query<{ id: number; message_id: string; attempts: number; status: string; last_error: string | null }>(
      `SELECT id, message_id, attempts, status, last_error FROM runtime_outbox WHERE kind = 'external' AND payload->>'sku' = $1`,
      [sku],
    );
    return rows[0];
  };

  it("retries while NATS is away, delivers when it returns, and parks then redrives after a long outage", async () => {
    const inserted = await listen(outside, address("product.inserted"));
    await harness.runtime.sendCommand({ boardId: "outage", name: "InsertProduct", payload: { name: "Desk", sku: "D-1", stockCount: 3 } });
    const retrying = await eventually(async () => {
      const row = await externalRow("D-1");
      return row && row.attempts >= 1 ? row : undefined;
    }, "a failed delivery attempt");
    expect(retrying.status).toBe("pending");
    expect(retrying.last_error).toMatch(/NATS at 127\.0\.0\.1:\d+/);
    expect(inserted).toEqual([]);

    await broker.up();
    const delivered = await eventually(async () => inserted.find((message) => (message.payload as { sku: string }).sku === "D-1"), "the delivery once NATS is back", 20_000);
    expect(delivered.messageId).toBe(retrying.message_id);
    await eventually(async () => ((await externalRow("D-1")) === undefined ? true : undefined), "the outbox row to go");

    await broker.down();
    await harness.runtime.sendCommand({ boardId: "outage", name: "InsertProduct", payload: { name: "Chair", sku: "C-1", stockCount: 2 } });
    const parked = await eventually(async () => {
      const row = await externalRow("C-1");
      return row?.status === "parked" ? row : undefined;
    }, "the delivery to be parked", 30_000);
    const deadLetters = await harness.runtime.listDeadLetters({ boardId: "outage", limit: 10 });
    expect(deadLetters.messages.map((message) => message.messageId)).toEqual([parked.message_id]);

    await broker.up();
    await harness.runtime.redrive(parked.id);
    const redriven = await eventually(async () => inserted.find((message) => (message.payload as { sku: string }).sku === "C-1"), "the redriven delivery", 20_000);
    expect(redriven.messageId).toBe(parked.message_id);
    expect(inserted.filter((message) => (message.payload as { sku: string }).sku === "D-1")).toHaveLength(1);
  });
});
