/**
 * Event store benchmarks (P1, P2, P3, P7, P9). Every ratio compares against a baseline measured
 * in the same run on the same engine; rounds alternate between the two sides and the best round
 * of each counts, so a background hiccup does not decide the ratio.
 */
import { randomBytes, randomUUID } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { getPostgreSQLEventStore } from "@event-driven-io/emmett-postgresql";
import type pg from "pg";
import { applyMigrations } from "../server/db/migrate.ts";
import { createPool, postgresSql } from "../server/db/postgres.ts";
import type { Sql } from "../server/db/sql.ts";
import { openTestStorage } from "../server/db/testing.ts";
import { createEventStore, Projector, type EventStore, type NewEvent, type ProjectionDefinition } from "../server/eventstore/index.ts";
import { metric, round, type BenchContext, type Metric } from "./metrics.ts";

const CONCURRENCY = 16;

function sampleEvent(i: number): NewEvent {
  return {
    type: i % 5 === 0 ? "OrderShipped" : "OrderLineAdded",
    data: {
      orderId: `order-${i % 997}`,
      customer: "Ada Lovelace",
      line: { sku: `SKU-${i % 113}`, quantity: 1 + (i % 7), unitPrice: 12.5 },
      total: 12.5 * (1 + (i % 7)),
      note: "express delivery, leave at the door",
    },
    metadata: { messageId: randomUUID(), context: "Orders", correlationId: `flow-${i % 101}`, definitionId: "orders", definitionVersion: 3 },
  };
}

/** The columns a raw insert writes, serialized the way the store serializes them. */
function rawRow(event: NewEvent, streamId: string, version: number): unknown[] {
  const { messageId, ...rest } = event.metadata!;
  return [
    streamId,
    version,
    event.type,
    JSON.stringify(event.data),
    JSON.stringify({ messageId, ...rest, recordedAt: new Date().toISOString() }),
    messageId,
  ];
}

/** A table shaped and indexed exactly like `events` (LIKE ... INCLUDING ALL), without the append function. */
async function createRawTable(sql: Sql): Promise<void> {
  await sql.exec(`CREATE TABLE raw_events (LIKE events INCLUDING ALL)`);
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length - 1) * p))]!;
}

async function timed(work: () => Promise<void>): Promise<number> {
  const started = performance.now();
  await work();
  return (performance.now() - started) / 1000;
}

/** Runs `perWorker` operations on each of CONCURRENCY workers; returns ops/s and per-op latencies (ms). */
async function concurrently(perWorker: number, op: (worker: number, k: number) => Promise<void>): Promise<{ rate: number; latencies: number[] }> {
  const latencies: number[] = [];
  const seconds = await timed(async () => {
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async (_, worker) => {
        for (let k = 0; k < perWorker; k += 1) {
          const started = performance.now();
          await op(worker, k);
          latencies.push(performance.now() - started);
        }
      }),
    );
  });
  latencies.sort((a, b) => a - b);
  return { rate: (CONCURRENCY * perWorker) / seconds, latencies };
}

// P1: 100-event batches with version checks vs a raw multi-row INSERT, PGlite.
async function appendBatchVsRaw(ctx: BenchContext): Promise<Metric> {
  const storage = await openTestStorage("pglite");
  try {
    await createRawTable(storage.sql);
    const store = createEventStore(storage);
    const batchSize = 100;
    const streams = 10;
    const versions = new Array<number>(streams).fill(0);
    const rawVersions = new Array<number>(streams).fill(0);
    const valuesList = Array.from({ length: batchSize }, (_, row) => {
      const p = row * 6;
      return `($${p + 1}, $${p + 2}, $${p + 3}, $${p + 4}::jsonb, $${p + 5}::jsonb, $${p + 6})`;
    }).join(", ");
    const rawInsert = `INSERT INTO raw_events (stream_id, stream_version, type, data, metadata, message_id) VALUES ${valuesList}`;
    let counter = 0;
    const storeRound = (batches: number) =>
      timed(async () => {
        for (let b = 0; b < batches; b += 1) {
          const stream = b % streams;
          const events = Array.from({ length: batchSize }, () => sampleEvent(counter++));
          const result = await store.append(`batch-${stream}`, events, { expectedVersion: versions[stream]! });
          versions[stream] = result.nextExpectedVersion;
        }
      });
    const rawRound = (batches: number) =>
      timed(async () => {
        for (let b = 0; b < batches; b += 1) {
          const stream = b % streams;
          const params: unknown[] = [];
          for (let i = 0; i < batchSize; i += 1) params.push(...rawRow(sampleEvent(counter++), `batch-${stream}`, ++rawVersions[stream]!));
          await storage.sql.query(rawInsert, params);
        }
      });
    await storeRound(5);
    await rawRound(5);
    const batches = 40;
    let storeBest = Infinity;
    let rawBest = Infinity;
    for (let round = 0; round < 5; round += 1) {
      rawBest = Math.min(rawBest, await rawRound(batches));
      storeBest = Math.min(storeBest, await storeRound(batches));
    }
    await store.close();
    const events = batches * batchSize;
    ctx.log(`P1 store ${round(events / storeBest, 0)} events/s, raw ${round(events / rawBest, 0)} rows/s`);
    return metric({
      id: "P1.append_batch_vs_raw",
      value: events / storeBest,
      unit: "events/s",
      baseline: events / rawBest,
      target: 0.75,
      note: `PGlite, ${batchSize}-event batches with exact expected versions vs multi-row INSERT into a table with the same indexes`,
    });
  } finally {
    await storage.dispose();
  }
}

// P2: 16 concurrent single-event appenders on PGlite, merged statements vs one transaction each.
async function mergedVsSingle(ctx: BenchContext): Promise<Metric> {
  const storage = await openTestStorage("pglite");
  try {
    const merged = createEventStore(storage.sql, { groupCommit: true });
    const single = createEventStore(storage.sql, { groupCommit: false });
    const versions = new Map<string, number>();
    let counter = 0;
    const roundOf = (store: EventStore, label: string, perWorker: number) =>
      concurrently(perWorker, async (worker) => {
        const stream = `${label}-${worker}`;
        const result = await store.append(stream, [sampleEvent(counter++)], { expectedVersion: versions.get(stream) ?? 0 });
        versions.set(stream, result.nextExpectedVersion);
      });
    await roundOf(merged, "merged", 5);
    await roundOf(single, "single", 5);
    let mergedBest = 0;
    let singleBest = 0;
    for (let round = 0; round < 3; round += 1) {
      singleBest = Math.max(singleBest, (await roundOf(single, "single", 25)).rate);
      mergedBest = Math.max(mergedBest, (await roundOf(merged, "merged", 25)).rate);
    }
    await merged.close();
    await single.close();
    ctx.log(`P2 merged ${round(mergedBest, 0)} appends/s, one transaction each ${round(singleBest, 0)} appends/s`);
    return metric({
      id: "P2.append_merged_vs_single_tx",
      value: mergedBest,
      unit: "appends/s",
      baseline: singleBest,
      target: 3,
      note: `PGlite, ${CONCURRENCY} concurrent appenders of single events with exact expected versions`,
    });
  } finally {
    await storage.dispose();
  }
}

interface PostgresSchema {
  name: string;
  pool: pg.Pool;
  sql: Sql & { pool: pg.Pool };
  drop(): Promise<void>;
}

async function postgresSchema(ctx: BenchContext, prefix: string): Promise<PostgresSchema> {
  const name = `${prefix}_${randomBytes(4).toString("hex")}`;
  const admin = postgresSql(createPool(ctx.postgresUrl, 1));
  await admin.exec(`CREATE SCHEMA "${name}"`);
  const pool = createPool(ctx.postgresUrl, CONCURRENCY + 2, name);
  const sql = postgresSql(pool);
  return {
    name,
    pool,
    sql,
    async drop() {
      await sql.close().catch(() => {});
      await admin.exec(`DROP SCHEMA "${name}" CASCADE`);
      await admin.close();
    },
  };
}

// P3: 16 concurrent single-event appenders on PostgreSQL vs raw single-row INSERT transactions.
async function postgresVsRaw(ctx: BenchContext): Promise<Metric[]> {
  const schema = await postgresSchema(ctx, "bench_es");
  try {
    await applyMigrations(schema.sql);
    await createRawTable(schema.sql);
    const store = createEventStore(schema.sql);
    const versions = new Map<string, number>();
    const rawVersions = new Map<string, number>();
    let counter = 0;
    const storeRound = (perWorker: number) =>
      concurrently(perWorker, async (worker) => {
        const stream = `pg-${worker}`;
        const result = await store.append(stream, [sampleEvent(counter++)], { expectedVersion: versions.get(stream) ?? 0 });
        versions.set(stream, result.nextExpectedVersion);
      });
    const rawRound = (perWorker: number) =>
      concurrently(perWorker, async (worker) => {
        const stream = `pg-${worker}`;
        const version = (rawVersions.get(stream) ?? 0) + 1;
        rawVersions.set(stream, version);
        await schema.sql.query(
          `INSERT INTO raw_events (stream_id, stream_version, type, data, metadata, message_id) VALUES ($1, $2, $3, $4::jsonb, $5::jsonb, $6)`,
          rawRow(sampleEvent(counter++), stream, version),
        );
      });
    await storeRound(10);
    await rawRound(10);
    let storeBest = { rate: 0, latencies: [] as number[] };
    let rawBest = { rate: 0, latencies: [] as number[] };
    for (let round = 0; round < 4; round += 1) {
      const raw = await rawRound(60);
      if (raw.rate > rawBest.rate) rawBest = raw;
      const appended = await storeRound(60);
      if (appended.rate > storeBest.rate) storeBest = appended;
    }
    await store.close();
    const storeP50 = percentile(storeBest.latencies, 0.5);
    const rawP50 = percentile(rawBest.latencies, 0.5);
    const storeP99 = percentile(storeBest.latencies, 0.99);
    const rawP99 = percentile(rawBest.latencies, 0.99);
    ctx.log(`P3 store ${round(storeBest.rate, 0)}/s p50 ${round(storeP50, 2)} ms, raw ${round(rawBest.rate, 0)}/s p50 ${round(rawP50, 2)} ms`);
    return [
      metric({
        id: "P3.append_pg_vs_raw",
        value: storeBest.rate,
        unit: "appends/s",
        baseline: rawBest.rate,
        target: 0.5,
        note: `PostgreSQL, ${CONCURRENCY} concurrent single-event appends (exact expected versions; the store merges concurrent appends into shared statements, up to 4 in flight) vs single-row INSERT transactions into a table with the same indexes; p50 ${round(storeP50, 2)} ms vs ${round(rawP50, 2)} ms, p99 ${round(storeP99, 2)} ms vs ${round(rawP99, 2)} ms`,
      }),
      metric({
        id: "P3.append_pg_p50_latency_vs_raw",
        value: storeP50,
        unit: "ms",
        baseline: rawP50,
        target: 1.3,
        better: "lower",
        note: "median latency of one append vs one raw INSERT transaction, same run as P3.append_pg_vs_raw",
      }),
    ];
  } finally {
    await schema.drop();
  }
}

// P7: projection rebuild throughput vs a raw ordered scan that parses the JSON.
async function rebuildVsScan(ctx: BenchContext): Promise<Metric> {
  const storage = await openTestStorage("pglite");
  try {
    const store = createEventStore(storage);
    const total = 20_000;
    for (let b = 0; b < total / 500; b += 1) {
      await store.append(`rebuild-${b % 40}`, Array.from({ length: 500 }, (_, i) => sampleEvent(b * 500 + i)));
    }
    type OrderView = { lines: number; quantity: number; total: number; shipped: boolean };
    const key = (event: { data: unknown }) => (event.data as { orderId: string }).orderId;
    const definition: ProjectionDefinition<OrderView> = {
      name: "benchOrders",
      handlers: {
        OrderLineAdded: {
          key,
          apply: (state, event) => {
            const data = event.data as { line: { quantity: number }; total: number };
            return {
              lines: (state?.lines ?? 0) + 1,
              quantity: (state?.quantity ?? 0) + data.line.quantity,
              total: (state?.total ?? 0) + data.total,
              shipped: state?.shipped ?? false,
            };
          },
        },
        OrderShipped: { key, apply: (state) => ({ lines: 0, quantity: 0, total: 0, ...state, shipped: true }) },
      },
    };
    const projector = new Projector(store, definition);
    await projector.register();
    const rebuild = () =>
      timed(async () => {
        const final = await projector.rebuild().done;
        if (final.processed !== total) throw new Error(`rebuild processed ${final.processed} of ${total}`);
      });
    const scan = () =>
      timed(async () => {
        let after = 0;
        let seen = 0;
        for (;;) {
          const { rows } = await storage.sql.query<{ position: number; data: string; metadata: string }>(
            `SELECT position, stream_id, stream_version, type, data::text AS data, metadata::text AS metadata
             FROM events WHERE position > $1 ORDER BY position LIMIT 2000`,
            [after],
          );
          if (rows.length === 0) break;
          for (const row of rows) {
            JSON.parse(row.data);
            JSON.parse(row.metadata);
          }
          seen += rows.length;
          after = rows[rows.length - 1]!.position;
        }
        if (seen !== total) throw new Error(`scan saw ${seen} of ${total}`);
      });
    let rebuildBest = Infinity;
    let scanBest = Infinity;
    for (let round = 0; round < 4; round += 1) {
      scanBest = Math.min(scanBest, await scan());
      rebuildBest = Math.min(rebuildBest, await rebuild());
    }
    await store.close();
    ctx.log(`P7 rebuild ${round(total / rebuildBest, 0)} events/s, raw scan ${round(total / scanBest, 0)} events/s`);
    return metric({
      id: "P7.rebuild_vs_raw_scan",
      value: total / rebuildBest,
      unit: "events/s",
      baseline: total / scanBest,
      target: 0.5,
      note: `PGlite, ${total} events into ~1000 keyed rows (shadow view + swap) vs ordered keyset scan with JSON.parse`,
    });
  } finally {
    await storage.dispose();
  }
}

function emmettVersion(): string | null {
  try {
    const file = path.resolve(import.meta.dirname, "../node_modules/@event-driven-io/emmett-postgresql/package.json");
    return (JSON.parse(fs.readFileSync(file, "utf8")) as { version: string }).version;
  } catch {
    return null;
  }
}

// P9: appends per second vs Emmett's PostgreSQL event store on the same server, same run.
async function appendVsEmmett(ctx: BenchContext): Promise<Metric> {
  ctx.versions["@event-driven-io/emmett-postgresql"] = emmettVersion();
  const ours = await postgresSchema(ctx, "bench_es");
  const theirs = await postgresSchema(ctx, "bench_emmett");
  try {
    await applyMigrations(ours.sql);
    const store = createEventStore(ours.sql);
    const emmett = getPostgreSQLEventStore(ctx.postgresUrl, {
      schema: { autoMigration: "CreateOrUpdate" },
      connectionOptions: { pool: theirs.pool },
    });
    const versions = new Map<string, number>();
    const emmettVersions = new Map<string, bigint>();
    let counter = 0;
    const oursRound = (perWorker: number) =>
      concurrently(perWorker, async (worker) => {
        const stream = `cmp-${worker}`;
        const result = await store.append(stream, [sampleEvent(counter++)], { expectedVersion: versions.get(stream) ?? 0 });
        versions.set(stream, result.nextExpectedVersion);
      });
    const emmettRound = (perWorker: number) =>
      concurrently(perWorker, async (worker) => {
        const stream = `cmp-${worker}`;
        const event = sampleEvent(counter++);
        const result = await emmett.appendToStream(stream, [{ type: event.type, data: event.data as Record<string, unknown>, metadata: event.metadata }], {
          expectedStreamVersion: emmettVersions.get(stream) ?? 0n,
        });
        emmettVersions.set(stream, result.nextExpectedStreamVersion);
      });
    await oursRound(10);
    await emmettRound(10);
    let oursBest = 0;
    let emmettBest = 0;
    for (let round = 0; round < 5; round += 1) {
      emmettBest = Math.max(emmettBest, (await emmettRound(50)).rate);
      oursBest = Math.max(oursBest, (await oursRound(50)).rate);
    }
    await store.close();
    await emmett.close();
    ctx.log(`P9 ours ${round(oursBest, 0)} appends/s, Emmett ${round(emmettBest, 0)} appends/s`);
    return metric({
      id: "P9.append_vs_emmett",
      value: oursBest,
      unit: "appends/s",
      baseline: emmettBest,
      target: 2,
      note: `PostgreSQL, ${CONCURRENCY} concurrent single-event appends with expected versions; ours merges concurrent appends into shared statements, Emmett ${emmettVersion()} runs one transaction per append on its own pool of the same size`,
    });
  } finally {
    await theirs.drop();
    await ours.drop();
  }
}

export async function run(ctx: BenchContext): Promise<Metric[]> {
  return [
    await appendBatchVsRaw(ctx),
    await mergedVsSingle(ctx),
    ...(await postgresVsRaw(ctx)),
    await rebuildVsScan(ctx),
    await appendVsEmmett(ctx),
  ];
}
