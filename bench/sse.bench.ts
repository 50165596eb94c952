/**
 * P6: live events over Server-Sent Events from the real server (custom server, request gate,
 * Next route handler, one shared hub).
 *
 * The server runs on a throwaway PostgreSQL database and data directory, and this process
 * appends to that database with its own event store, as another process of the deployment
 * would: the server hears of new events by LISTEN/NOTIFY. (An embedded PGlite server cannot be
 * appended to from outside, and the app has no append endpoint.) Clients are plain sockets
 * on loopback that send the HTTP request and scan what arrives (see connect).
 *
 * - P6.sse_p99_ms: 1,000 clients on /api/streams/all while 100 events/s are appended for 10 s;
 *   latency from the start of each append to its arrival at each client, which run in a process
 *   of their own. Baseline: the same appends and clients with a bare SSE server that writes each
 *   event to every connection as its append commits (the speed of this machine at this fan-out).
 *   The target is p99 ≤ 50 ms, written as a ratio to this run's baseline; the app with one
 *   client is reported alongside.
 * - P6.sse_idle_connections: idle subscriptions one server holds (5,000 attempted), with the
 *   server's memory per connection.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { storageFromPostgres, type Storage } from "../server/db/storage.ts";
import { createEventStore, type EventStore } from "../server/eventstore/index.ts";
import { metric, round, type BenchContext, type Metric } from "./metrics.ts";

const ROOT = path.resolve(import.meta.dirname, "..");
const CLIENTS = 1000;
const EVENTS_PER_SECOND = 100;
const SECONDS = 10;
const IDLE_CONNECTIONS = 5000;
const P99_TARGET_MS = 50;
/** The first start may run `next build`. */
const SERVER_START_TIMEOUT_MS = 15 * 60_000;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

interface RunningServer {
  child: ChildProcess;
  port: number;
  output: string[];
}

async function startServer(databaseUrl: string, dataDir: string, log: (message: string) => void): Promise<RunningServer> {
  const port = await freePort();
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: String(port), HOST: "127.0.0.1", SAGABOARD_DATA_DIR: dataDir, DATABASE_URL: databaseUrl, SAGABOARD_NO_EXAMPLES: "1" };
  delete env.SAGABOARD_TOKEN;
  const child = spawn(process.execPath, ["--import", "tsx", "server/main.ts"], { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
  const output: string[] = [];
  const remember = (chunk: Buffer) => {
    output.push(chunk.toString());
    if (output.length > 200) output.shift();
  };
  child.stdout!.on("data", remember);
  child.stderr!.on("data", remember);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the server did not start within ${SERVER_START_TIMEOUT_MS / 1000} s`)), SERVER_START_TIMEOUT_MS);
    const onData = (chunk: Buffer) => {
      if (chunk.toString().includes("Building the app")) log("the server is building the app first");
      if (output.join("").includes(" ready on http")) {
        clearTimeout(timer);
        child.stdout!.off("data", onData);
        resolve();
      }
    };
    child.stdout!.on("data", onData);
    child.once("exit", (code) => {
      clearTimeout(timer);
      log(output.join("").slice(-3000));
      const lastLine = output.join("").trim().split("\n").at(-1) ?? "";
      reject(new Error(`the server exited with ${code}: ${lastLine}`));
    });
  });
  return { child, port, output };
}

async function stopServer(server: RunningServer): Promise<void> {
  if (server.child.exitCode !== null) return;
  const exited = new Promise<void>((resolve) => server.child.once("exit", () => resolve()));
  server.child.kill("SIGTERM");
  const timer = setTimeout(() => server.child.kill("SIGKILL"), 10_000);
  await exited;
  clearTimeout(timer);
}

/** CPU time (user + system) a process has used, in milliseconds. */
function processCpuMs(pid: number): number {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1000) / 100;
}

function residentBytes(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
  const kib = Number(/VmRSS:\s+(\d+)\s+kB/.exec(status)?.[1] ?? Number.NaN);
  return kib * 1024;
}

/**
 * One SSE client on a plain socket: it sends the request, checks the status line and scans the
 * bytes for the benchmark's sequence number. A thousand clients share one process here, where
 * real ones would each have their own; Node's HTTP client would spend about as long per read as
 * the server spends per write, and the last client of each event would wait for all of that.
 * Frames never span HTTP chunks (the server writes whole frames), so chunk-size lines fall
 * between frames and the scan can ignore them.
 */
interface SseConnection {
  socket: net.Socket;
  closed: boolean;
}

/** Socket reads across all connections of this process (each is one or more server writes). */
let reads = 0;

const SEQ = '"seq":';

function connect(port: number, onSeq: (seq: number) => void): Promise<SseConnection> {
  return new Promise((resolve, reject) => {
    let buffer = "";
    let headers = true;
    let ready = false;
    const socket = net.connect({ host: "127.0.0.1", port });
    const connection: SseConnection = { socket, closed: false };
    socket.setNoDelay(true);
    socket.write(`GET /api/streams/all HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAccept: text/event-stream\r\n\r\n`);
    socket.on("data", (chunk: Buffer) => {
      reads += 1;
      buffer += chunk.toString("latin1");
      if (headers) {
        const end = buffer.indexOf("\r\n\r\n");
        if (end < 0) return;
        const status = buffer.slice(0, buffer.indexOf("\r\n"));
        if (!/^HTTP\/1\.1 200 /.test(status)) {
          reject(new Error(`SSE connection refused: ${status}`));
          socket.destroy();
          return;
        }
        headers = false;
        buffer = buffer.slice(end + 4);
      }
      let from = 0;
      let end = buffer.indexOf("\n\n");
      while (end >= 0) {
        const at = buffer.indexOf(SEQ, from);
        if (at >= 0 && at < end) onSeq(parseInt(buffer.slice(at + SEQ.length, at + SEQ.length + 12), 10));
        else if (!ready && buffer.lastIndexOf("event: subscription", end) >= from) {
          ready = true;
          resolve(connection);
        }
        from = end + 2;
        end = buffer.indexOf("\n\n", from);
      }
      buffer = from === 0 ? buffer : buffer.slice(from);
    });
    socket.on("close", () => {
      connection.closed = true;
      if (!ready) reject(new Error("the SSE connection closed before its subscription was announced"));
    });
    socket.on("error", (error) => {
      connection.closed = true;
      if (!ready) reject(error);
    });
  });
}

async function connectMany(port: number, count: number, onSeq: (client: number, seq: number) => void, concurrency = 200): Promise<{ connections: SseConnection[]; failures: string[] }> {
  const connections: SseConnection[] = [];
  const failures: string[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const client = next;
        next += 1;
        try {
          connections.push(await connect(port, (seq) => onSeq(client, seq)));
        } catch (error) {
          failures.push((error as Error).message);
        }
      }
    }),
  );
  return { connections, failures };
}

function closeAll(connections: SseConnection[]): void {
  for (const connection of connections) connection.socket.destroy();
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface LatencyRun {
  clients: number;
  connected: number;
  appended: number;
  appendRate: number;
  p50: number;
  p99: number;
  max: number;
  /** Append start → the appender's append resolved (committed), the part of the latency before the server can know. */
  commitP50: number;
  commitP99: number;
  missing: number;
  droppedConnections: number;
  /** Server CPU per delivered event (one event to one client), over the append phase and the drain. */
  serverCpuMicrosPerDelivery: number;
  serverCpuShare: number;
  /** The client process's CPU over the same time, as a share of one core. */
  clientCpuShare: number;
  /** Events per socket read at the clients: above 1 when the server sent several in one write. */
  eventsPerRead: number;
}

/** What the client process reports to the benchmark (over IPC). */
type ClientReport =
  | { kind: "ready"; connected: number; failures: string[] }
  | { kind: "done"; latencies: { p50: number; p99: number; max: number; count: number }; missing: number; dropped: number; cpuMs: number; elapsedMs: number; reads: number };

type ClientCommand = { kind: "finish"; sentAt: number[]; drainMs: number };

interface ClientProcessSettings {
  port: number;
  clients: number;
  events: number;
}

const CLIENT_ROLE_ENV = "SAGABOARD_SSE_BENCH_CLIENTS";
/** Wall-clock milliseconds with sub-millisecond precision, comparable across processes. */
const now = () => performance.timeOrigin + performance.now();

/**
 * The clients run in a process of their own, as real clients would: their reads then do not
 * delay the appender's commits and notifications, which are part of what is measured.
 */
async function runClientProcess(settings: ClientProcessSettings): Promise<void> {
  const send = (report: ClientReport) => process.send!(report);
  const { clients, events } = settings;
  const receivedAt = new Float64Array(clients * events).fill(Number.NaN);
  let received = 0;
  const { connections, failures } = await connectMany(settings.port, clients, (client, seq) => {
    if (seq >= events || !Number.isNaN(receivedAt[client * events + seq]!)) return;
    receivedAt[client * events + seq] = now();
    received += 1;
  });
  const cpuBefore = process.cpuUsage();
  const startedAt = now();
  const readsBefore = reads;
  send({ kind: "ready", connected: connections.length, failures });
  const command = await new Promise<ClientCommand>((resolve) => process.once("message", (message) => resolve(message as ClientCommand)));
  const deadline = now() + command.drainMs;
  while (received < connections.length * events && now() < deadline) await sleep(50);
  const cpu = process.cpuUsage(cpuBefore);
  const elapsedMs = now() - startedAt;
  const dropped = connections.filter((connection) => connection.closed).length;
  closeAll(connections);
  const latencies: number[] = [];
  let missing = 0;
  for (let client = 0; client < connections.length; client += 1) {
    for (let seq = 0; seq < events; seq += 1) {
      const at = receivedAt[client * events + seq]!;
      if (Number.isNaN(at)) missing += 1;
      else latencies.push(at - command.sentAt[seq]!);
    }
  }
  const sorted = Float64Array.from(latencies).sort();
  send({
    kind: "done",
    latencies: { p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted.length > 0 ? sorted[sorted.length - 1]! : Number.NaN, count: sorted.length },
    missing,
    dropped,
    cpuMs: (cpu.user + cpu.system) / 1000,
    elapsedMs,
    reads: reads - readsBefore,
  });
  process.disconnect();
}

function nextReport(child: ChildProcess): Promise<ClientReport> {
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null) => reject(new Error(`the client process exited with ${code}`));
    child.once("exit", onExit);
    child.once("message", (message) => {
      child.off("exit", onExit);
      resolve(message as ClientReport);
    });
  });
}

let runNumber = 0;

/** Where the clients connect: the app's server, or the bare one of the baseline. */
interface FanOutServer {
  pid: number;
  port: number;
}

/**
 * Appends EVENTS_PER_SECOND for SECONDS while `clients` connections (in a process of their own)
 * listen on `server`; `onCommitted` hears of each append once it committed (the bare server is
 * told of events that way, the app's server hears of them from PostgreSQL).
 */
async function measureLatency(server: FanOutServer, store: EventStore, clients: number, onCommitted?: (seq: number, position: number) => void): Promise<LatencyRun> {
  runNumber += 1;
  const events = EVENTS_PER_SECOND * SECONDS;
  const settings: ClientProcessSettings = { port: server.port, clients, events };
  const child = spawn(process.execPath, ["--import", "tsx", fileURLToPath(import.meta.url)], {
    cwd: ROOT,
    env: { ...process.env, [CLIENT_ROLE_ENV]: JSON.stringify(settings) },
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  try {
    const ready = await nextReport(child);
    if (ready.kind !== "ready") throw new Error(`the client process sent ${ready.kind} before ready`);
    if (ready.failures.length > 0) throw new Error(`${ready.failures.length} of ${clients} SSE connections failed: ${ready.failures[0]}`);

    const sentAt: number[] = new Array<number>(events).fill(Number.NaN);
    const committedAt: number[] = new Array<number>(events).fill(Number.NaN);
    const serverCpuBefore = processCpuMs(server.pid);
    const started = performance.now();
    const appends: Promise<unknown>[] = [];
    for (let seq = 0; seq < events; seq += 1) {
      const due = started + (seq * 1000) / EVENTS_PER_SECOND;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      sentAt[seq] = now();
      appends.push(
        store.append(`sse-bench-${runNumber}-${seq % 16}`, [{ type: "SseBenchTick", data: { seq } }]).then(({ positions }) => {
          committedAt[seq] = now();
          onCommitted?.(seq, positions[0]!);
        }),
      );
    }
    await Promise.all(appends);
    const appendRate = events / ((performance.now() - started) / 1000);
    const done = nextReport(child);
    child.send({ kind: "finish", sentAt, drainMs: 10_000 } satisfies ClientCommand);
    const report = await done;
    if (report.kind !== "done") throw new Error(`the client process sent ${report.kind} instead of its results`);
    const elapsedMs = performance.now() - started;
    const serverCpuMs = processCpuMs(server.pid) - serverCpuBefore;
    const commits = Float64Array.from(sentAt, (at, seq) => committedAt[seq]! - at).sort();
    return {
      clients,
      connected: ready.connected,
      appended: events,
      appendRate,
      p50: report.latencies.p50,
      p99: report.latencies.p99,
      max: report.latencies.max,
      commitP50: percentile(commits, 50),
      commitP99: percentile(commits, 99),
      missing: report.missing,
      droppedConnections: report.dropped,
      serverCpuMicrosPerDelivery: (serverCpuMs * 1000) / Math.max(1, report.latencies.count),
      serverCpuShare: serverCpuMs / elapsedMs,
      clientCpuShare: report.cpuMs / report.elapsedMs,
      eventsPerRead: report.latencies.count / Math.max(1, report.reads),
    };
  } finally {
    if (child.exitCode === null) child.kill();
  }
}

const RAW_SERVER_ROLE_ENV = "SAGABOARD_SSE_BENCH_RAW_SERVER";

/**
 * The baseline: what this machine does with the same fan-out and nothing else. A bare SSE server
 * in a few lines, in a process of its own, writes each event to every connection with
 * `res.write` as soon as the benchmark tells it the append committed; the clients and the
 * appends are the same as for the app's server.
 */
function runRawServer(): void {
  const connections = new Set<http.ServerResponse>();
  const server = http.createServer((_request, response) => {
    response.writeHead(200, { "Content-Type": "text/event-stream", "Cache-Control": "no-cache" });
    response.write(`retry: 2000\n\nevent: subscription\ndata: {}\n\n`);
    connections.add(response);
    response.on("close", () => connections.delete(response));
  });
  server.listen(0, "127.0.0.1", () => process.send!({ port: (server.address() as net.AddressInfo).port }));
  process.on("message", (frame: string) => {
    for (const response of connections) response.write(frame);
  });
  process.on("disconnect", () => process.exit(0));
}

/** A frame the size and shape of the app's for the same event (a CloudEvent of SseBenchTick). */
function rawFrame(seq: number, position: number): string {
  const cloudEvent = {
    specversion: "1.0",
    id: randomBytes(16).toString("hex"),
    source: "/sagaboard/sse-bench",
    type: "SseBenchTick",
    time: new Date().toISOString(),
    datacontenttype: "application/json",
    subject: `sse-bench-${seq % 16}`,
    data: { seq },
    position,
    stream: `sse-bench-${seq % 16}`,
    streamversion: Math.floor(seq / 16) + 1,
  };
  return `id: ${position}\nevent: SseBenchTick\ndata: ${JSON.stringify(cloudEvent)}\n\n`;
}

async function measureRawBaseline(store: EventStore, clients: number): Promise<LatencyRun> {
  const child = spawn(process.execPath, ["--import", "tsx", fileURLToPath(import.meta.url)], {
    cwd: ROOT,
    env: { ...process.env, [RAW_SERVER_ROLE_ENV]: "1" },
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  try {
    const { port } = await new Promise<{ port: number }>((resolve, reject) => {
      child.once("message", (message) => resolve(message as { port: number }));
      child.once("exit", (code) => reject(new Error(`the bare SSE server exited with ${code}`)));
    });
    return await measureLatency({ pid: child.pid!, port }, store, clients, (seq, position) => child.send(rawFrame(seq, position)));
  } finally {
    child.kill();
  }
}

interface IdleRun {
  attempted: number;
  held: number;
  bytesPerConnection: number;
  failures: string[];
}

async function measureIdle(server: RunningServer): Promise<IdleRun> {
  const pid = server.child.pid!;
  await sleep(1000);
  const before = residentBytes(pid);
  const { connections, failures } = await connectMany(server.port, IDLE_CONNECTIONS, () => {}, 100);
  // Held means still open a while after the last one connected.
  await sleep(3000);
  const after = residentBytes(pid);
  const held = connections.filter((connection) => !connection.closed).length;
  closeAll(connections);
  return { attempted: IDLE_CONNECTIONS, held, bytesPerConnection: held > 0 ? (after - before) / held : Number.NaN, failures };
}

function fileDescriptorLimit(pid: number): string {
  try {
    const limits = fs.readFileSync(`/proc/${pid}/limits`, "utf8");
    const line = /Max open files\s+(\d+|unlimited)\s+(\d+|unlimited)/.exec(limits);
    return line ? `${line[1]} (hard ${line[2]})` : "unknown";
  } catch {
    return "unknown";
  }
}

/** The benchmark creates a database: without a user in the URL, PostgreSQL's own superuser. */
function adminUrl(postgresUrl: string): URL {
  const url = new URL(postgresUrl);
  if (!url.username) url.username = process.env.PGUSER || "postgres";
  return url;
}

export async function run(ctx: BenchContext): Promise<Metric[]> {
  const databaseName = `sagaboard_sse_bench_${randomBytes(4).toString("hex")}`;
  const admin = new pg.Client({ connectionString: adminUrl(ctx.postgresUrl).toString(), connectionTimeoutMillis: 5000 });
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "sagaboard-sse-bench-"));
  let server: RunningServer | undefined;
  let storage: Storage | undefined;
  let store: EventStore | undefined;
  let created = false;
  try {
    await admin.connect();
    await admin.query(`CREATE DATABASE ${databaseName}`);
    created = true;
    const url = adminUrl(ctx.postgresUrl);
    url.pathname = `/${databaseName}`;
    const databaseUrl = url.toString();

    server = await startServer(databaseUrl, dataDir, ctx.log);
    ctx.log(`server on port ${server.port}, pid ${server.child.pid}, open files limit ${fileDescriptorLimit(server.child.pid!)}`);
    storage = storageFromPostgres(databaseUrl, { poolSize: 4 });
    store = createEventStore(storage);

    // Warm-up: loads the route, starts the hub's subscription and the database connections.
    await measureLatencyBriefly(server.port, store);

    const app: FanOutServer = { pid: server.child.pid!, port: server.port };
    const oneClient = await measureLatency(app, store, 1);
    ctx.log(`app, 1 client: ${describeRun(oneClient)}`);
    const loaded = await measureLatency(app, store, CLIENTS);
    ctx.log(`app, ${CLIENTS} clients: ${describeRun(loaded)}`);
    const raw = await measureRawBaseline(store, CLIENTS);
    ctx.log(`bare server, ${CLIENTS} clients: ${describeRun(raw)}`);
    await sleep(2000);
    const idle = await measureIdle(server);
    ctx.log(`idle: ${idle.held}/${idle.attempted} held, ${round(idle.bytesPerConnection / 1024, 1)} KiB each${idle.failures.length ? `, first failure: ${idle.failures[0]}` : ""}`);

    return [
      metric({
        id: "P6.sse_p99_ms",
        value: loaded.p99,
        unit: "ms",
        baseline: raw.p99,
        target: round(P99_TARGET_MS / raw.p99, 3),
        better: "lower",
        note:
          `${CLIENTS} SSE clients on /api/streams/all (${loaded.connected} connected), ${loaded.appended} events at ${round(loaded.appendRate, 1)}/s, append start → receipt: ` +
          `p50 ${round(loaded.p50, 2)} ms, p99 ${round(loaded.p99, 2)} ms, max ${round(loaded.max, 1)} ms, ${loaded.missing} receipts missing, ${loaded.droppedConnections} connections dropped; ` +
          `server CPU ${round(loaded.serverCpuMicrosPerDelivery, 1)} µs per delivery (${round(loaded.serverCpuShare * 100, 0)}% of a core), clients ${round(loaded.clientCpuShare * 100, 0)}%, ${round(loaded.eventsPerRead, 1)} events per client read; commit p99 ${round(loaded.commitP99, 2)} ms. ` +
          `Baseline: a bare SSE server in a few lines writing each event to the same ${CLIENTS} clients as its append commits: p50 ${round(raw.p50, 2)} ms, p99 ${round(raw.p99, 2)} ms, ${round(raw.serverCpuMicrosPerDelivery, 1)} µs CPU per delivery. ` +
          `The app with 1 client: p50 ${round(oneClient.p50, 2)} ms, p99 ${round(oneClient.p99, 2)} ms. Target p99 ≤ ${P99_TARGET_MS} ms, written as a ratio to the baseline. ` +
          `Server on PostgreSQL (appends from the benchmark process, NOTIFY to the server); server, clients and PostgreSQL share ${os.cpus().length} cores, load average ${os.loadavg()[0]!.toFixed(1)}.`,
      }),
      metric({
        id: "P6.sse_idle_connections",
        value: idle.held,
        unit: "connections",
        baseline: idle.attempted,
        target: 1,
        note: `idle SSE subscriptions held by one server for 3 s after the last connected; server memory ${round(idle.bytesPerConnection / 1024, 1)} KiB per connection (RSS growth); open files limit ${fileDescriptorLimit(server.child.pid!)}${idle.failures.length ? `; ${idle.failures.length} failed: ${idle.failures[0]}` : ""}`,
      }),
    ];
  } catch (error) {
    const message = (error as Error).message;
    ctx.log(`SSE benchmark failed: ${message}`);
    if (server) ctx.log(server.output.join("").slice(-3000));
    return [
      metric({ id: "P6.sse_p99_ms", value: null, unit: "ms", baseline: null, target: 1, better: "lower", note: `not measured: ${message}` }),
      metric({ id: "P6.sse_idle_connections", value: null, unit: "connections", baseline: IDLE_CONNECTIONS, target: 1, note: `not measured: ${message}` }),
    ];
  } finally {
    await store?.close().catch(() => {});
    await storage?.close().catch(() => {});
    if (server) await stopServer(server);
    if (created) await admin.query(`DROP DATABASE IF EXISTS ${databaseName} WITH (FORCE)`).catch(() => {});
    await admin.end().catch(() => {});
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

function describeRun(run: LatencyRun): string {
  return (
    `p50 ${round(run.p50, 2)} ms, p99 ${round(run.p99, 2)} ms, max ${round(run.max, 1)} ms, ${run.missing} missing, ${run.droppedConnections} dropped, ` +
    `server ${round(run.serverCpuMicrosPerDelivery, 1)} µs CPU per delivery (${round(run.serverCpuShare * 100, 0)}% of a core), clients ${round(run.clientCpuShare * 100, 0)}% of a core, ` +
    `${round(run.eventsPerRead, 1)} events per read, load average ${os.loadavg()[0]!.toFixed(1)}; commit p50 ${round(run.commitP50, 2)} ms, p99 ${round(run.commitP99, 2)} ms`
  );
}

async function measureLatencyBriefly(port: number, store: EventStore): Promise<void> {
  let received = false;
  const connection = await connect(port, () => (received = true));
  const deadline = performance.now() + 30_000;
  while (!received && performance.now() < deadline) {
    await store.append("sse-bench-warmup", [{ type: "SseBenchTick", data: { seq: 0 } }]);
    await sleep(200);
  }
  connection.socket.destroy();
  if (!received) throw new Error("the warm-up event never arrived over SSE");
}

if (process.env[RAW_SERVER_ROLE_ENV]) runRawServer();

const clientRole = process.env[CLIENT_ROLE_ENV];
if (clientRole) {
  runClientProcess(JSON.parse(clientRole) as ClientProcessSettings).catch((error: unknown) => {
    process.stderr.write(`SSE benchmark client process failed: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  });
}
