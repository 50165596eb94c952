/**
 * `npm run worker`: a standalone runtime worker. It needs PostgreSQL (DATABASE_URL); any number
 * of them (and the app's in-process worker) share the outbox without handling a message twice.
 * With the embedded database the worker runs inside the app instead (`npm start`).
 * SAGABOARD_WORKER_CONCURRENCY sets how many messages it handles at once (default 16).
 */
import { ConfigError, parseEnv } from "./env.ts";
import { MigrationError } from "./db/migrate.ts";
import { openStorage, StorageUnavailableError } from "./db/storage.ts";
import { getRuntime } from "./runtime/index.ts";
import { startReadModelProjections } from "./runtime/read-model-projections.ts";
import { busEnvironment, startBusConnections } from "./buses/connections.ts";

const EXPECTED_FAILURES = [ConfigError, StorageUnavailableError, MigrationError];

function fail(error: unknown): never {
  const expected = EXPECTED_FAILURES.some((kind) => error instanceof kind);
  process.stderr.write(`sagaboard worker: ${expected ? (error as Error).message : `unexpected failure: ${(error as Error)?.stack ?? String(error)}`}\n`);
  process.exit(1);
}


async function main(): Promise<void> {
  const env = parseEnv();
  if (!env.DATABASE_URL) {
    throw new ConfigError("npm run worker needs DATABASE_URL (PostgreSQL); with the embedded database the worker runs inside the app (npm start)");
  }
  const workers = env.SAGABOARD_WORKER_CONCURRENCY;
  const storage = await openStorage({ databaseUrl: env.DATABASE_URL, dataDir: env.SAGABOARD_DATA_DIR });
  const runtime = getRuntime(storage);
  const worker = runtime.startWorker({
    ...(workers ? { concurrency: workers } : {}),
    onError: (error) => process.stderr.write(`sagaboard worker: ${(error as Error)?.message ?? String(error)}\n`),
  });

  // ——— read models of deployed versions, projected next to the worker ———
  const readModels = startReadModelProjections(runtime.store, {
    onError: (error) => process.stderr.write(`sagaboard read models: ${(error as Error)?.message ?? String(error)}\n`),
  });
  // ———

  const buses = startBusConnections({ runtime, ...busEnvironment(env), onError: (error) => process.stderr.write(`sagaboard buses: ${(error as Error)?.message ?? String(error)}\n`) });

  let closing = false;
  const shutdown = async () => {
    if (closing) return;
    closing = true;
    await buses.close().catch(() => {});
    await readModels.close().catch(() => {});
    await runtime.close().catch(() => {});
    await storage.close().catch(() => {});
    process.exit(0);
  };
  process.on("SIGINT", () => void shutdown());
  process.on("SIGTERM", () => void shutdown());
  process.stdout.write(`Sagaboard worker ${worker.id} ready — storage: PostgreSQL — PID ${process.pid}\n`);
}

main().catch(fail);
