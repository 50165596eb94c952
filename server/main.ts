/**
 * `npm start` / `npm run dev`: validates settings, opens the store (taking the PGlite lock and
 * applying migrations), builds the app when the build is missing or stale, then serves Next
 * behind the request gate. Expected failures end in one line on stderr and a non-zero exit.
 */
import http from "node:http";
import path from "node:path";
import { ConfigError, parseEnv, type Env } from "./env.ts";
import { DataDirLockedError } from "./db/lock.ts";
import { MigrationError } from "./db/migrate.ts";
import { DataDirError } from "./db/pglite.ts";
import { setProcessStorage } from "./db/process-storage.ts";
import { openStorage, StorageUnavailableError, type Storage } from "./db/storage.ts";
import { BuildError, needsBuild, runNextBuild } from "./http/next-build.ts";
import { gateRequest } from "./http/request-gate.ts";
import { eventStreamRequest, serveEventStream } from "./live/event-stream-server.ts";
// ——— runtime (server/runtime): the in-process worker ———
import { startInProcessWorker } from "./runtime/in-process.ts";
import { getRuntime } from "./runtime/runtime.ts";
import { busEnvironment, startBusConnections } from "./buses/connections.ts";
import { seedExamples } from "./examples/seed.ts";

const ROOT = path.resolve(import.meta.dirname, "..");
const EXPECTED_FAILURES = [ConfigError, DataDirLockedError, DataDirError, StorageUnavailableError, MigrationError, BuildError];

function fail(error: unknown): never {
  if (EXPECTED_FAILURES.some((kind) => error instanceof kind)) {
    process.stderr.write(`sagaboard: ${(error as Error).message}\n`);
  } else {
    process.stderr.write(`sagaboard: unexpected failure: ${(error as Error)?.stack ?? String(error)}\n`);
  }
  process.exit(1);
}

function listen(server: http.Server, env: Env): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "EADDRINUSE") reject(new ConfigError(`PORT ${env.PORT} is already in use on ${env.HOST}`));
      else if (error.code === "EADDRNOTAVAIL" || error.code === "ENOTFOUND") reject(new ConfigError(`HOST ${env.HOST} is not an address of this machine`));
      else reject(error);
    });
    server.listen(env.PORT, env.HOST, resolve);
  });
}

/** An unexpected failure opening a live event stream (the database is down, say): 500, or a cut connection once streaming. */
function failedEventStream(res: http.ServerResponse, error: unknown): void {
  process.stderr.write(`sagaboard: a live event stream failed: ${(error as Error)?.stack ?? String(error)}\n`);
  if (res.headersSent) res.destroy();
  else res.writeHead(500, { "Content-Type": "application/json", "Cache-Control": "no-store" }).end(JSON.stringify({ error: { status: 500, message: "Internal Server Error" } }));
}

async function main(): Promise<void> {
  const dev = process.argv.includes("--dev");
  (process.env as Record<string, string | undefined>).NODE_ENV ??= dev ? "development" : "production";
  process.env.NEXT_TELEMETRY_DISABLED ??= "1";

  const env = parseEnv();
  const storage: Storage = await openStorage({ databaseUrl: env.DATABASE_URL, dataDir: env.SAGABOARD_DATA_DIR });
  setProcessStorage(storage);
  // ——— runtime: handle the outbox in this process (stopped before the storage closes) ———
  const runtimeWorker = startInProcessWorker(storage);
  // ——— buses: Redis/NATS transports and inbound subscriptions wherever a worker runs ———
  const busConnections = runtimeWorker
    ? startBusConnections({ runtime: getRuntime(storage), ...busEnvironment(env), onError: (error) => process.stderr.write(`sagaboard buses: ${(error as Error)?.message ?? String(error)}\n`) })
    : null;
  if (!env.SAGABOARD_NO_EXAMPLES) {
    const seeded = await seedExamples(storage).catch((error: Error) => {
      process.stderr.write(`sagaboard: could not create the example processes: ${error.message}\n`);
      return null;
    });
    if (seeded?.created.length) process.stdout.write(`Created ${seeded.created.length} example processes, published and deployed.\n`);
  }

  let closing = false;
  const shutdown = async (code: number) => {
    if (closing) return;
    closing = true;
    server.close();
    server.closeAllConnections();
    await busConnections?.close().catch(() => {});
    await runtimeWorker?.stop().catch(() => {});
    await storage.close().catch(() => {});
    process.exit(code);
  };

  if (!dev && needsBuild(ROOT)) {
    process.stdout.write("Building the app (first start, or the sources changed)…\n");
    runNextBuild(ROOT);
  }

  const { default: next } = await import("next");
  const app = next({ dev, dir: ROOT, hostname: env.HOST, port: env.PORT });
  const handle = app.getRequestHandler();
  await app.prepare();

  const server = http.createServer((req, res) => {
    const verdict = gateRequest({ method: req.method ?? "GET", url: req.url ?? "/", headers: req.headers }, {
      token: env.SAGABOARD_TOKEN,
      maxBodyBytes: env.SAGABOARD_MAX_BODY_BYTES,
    });
    switch (verdict.kind) {
      case "pass": {
        const streamName = eventStreamRequest(req, res);
        if (streamName === null) void handle(req, res);
        else serveEventStream(req, res, streamName, storage).catch((error: unknown) => failedEventStream(res, error));
        return;
      }
      case "login":
        res.writeHead(303, { Location: verdict.location, "Set-Cookie": verdict.cookie }).end();
        return;
      case "reject":
        // Do not read the body: for 413 that is the point. Closing stops the client sending it.
        res.writeHead(verdict.status, { "Content-Type": "application/json", Connection: "close" });
        res.end(JSON.stringify({ error: { status: verdict.status, message: verdict.message } }));
        return;
      default: {
        const unreachable: never = verdict;
        throw new Error(`unknown verdict ${JSON.stringify(unreachable)}`);
      }
    }
  });
  server.requestTimeout = 0;
  // Node closes an idle kept-alive connection after 5 s by default. Clients that pool connections
  // without reading the advertised timeout (Playwright's request context among them) then send on
  // a connection as it closes and get ECONNRESET. Longer than a load balancer's usual 60 s, so the
  // side in front closes first.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  await listen(server, env);

  process.on("SIGINT", () => void shutdown(0));
  process.on("SIGTERM", () => void shutdown(0));
  const where = storage.kind === "pglite" ? `PGlite at ${env.SAGABOARD_DATA_DIR}` : "PostgreSQL";
  process.stdout.write(`Sagaboard ${dev ? "(dev) " : ""}ready on http://${env.HOST.includes(":") ? `[${env.HOST}]` : env.HOST}:${env.PORT} — storage: ${where} — PID ${process.pid}\n`);
}

main().catch(fail);
