/**
 * Child process for crash.test.ts and workers.test.ts: opens the store (a PGlite directory, or a
 * PostgreSQL schema), makes sure the insurance template is deployed and that instances 0..N-1
 * are started (idempotently: each start has a fixed message id), runs a worker whose effects are
 * counted in the sink, and reports progress ("completed <n>") until it is killed.
 *
 *   crash-worker.ts pglite <data dir> <instances> [worker id]
 *   crash-worker.ts postgresql <url> <schema> <instances> [worker id]
 */
import { openStorage, storageFromPostgres, type Storage } from "../../db/storage.ts";
import { Runtime } from "../runtime.ts";
import { templateDefinition } from "./boards.ts";
import { CRASH_BOARD, crashApplication } from "./crash-fixtures.ts";
import { createSink, sinkHooks } from "./sink.ts";

const [kind, location, ...rest] = process.argv.slice(2);
let storage: Storage;
let instances: number;
let workerId: string | undefined;
if (kind === "pglite" && location) {
  storage = await openStorage({ dataDir: location });
  instances = Number(rest[0]);
  workerId = rest[1];
} else if (kind === "postgresql" && location && rest[0]) {
  storage = storageFromPostgres(location, { schema: rest[0], poolSize: 12 });
  instances = Number(rest[1]);
  workerId = rest[2];
} else {
  throw new Error("usage: crash-worker.ts pglite <dir> <instances> [worker id] | postgresql <url> <schema> <instances> [worker id]");
}

await createSink(storage.sql);
const runtime = new Runtime(storage, { hooks: sinkHooks(workerId ?? "crash-worker") });
const { version } = await runtime.publishDefinition(CRASH_BOARD, templateDefinition("insurance-quote"));
await runtime.deploy(CRASH_BOARD, version.version);
const worker = runtime.startWorker({ pollIntervalMs: 25, leaseMs: 2_000, ...(workerId ? { workerId } : {}) });
process.stdout.write(`ready ${worker.id}\n`);

for (let index = 0; index < instances; index += 1) {
  await runtime.start({ boardId: CRASH_BOARD, payload: crashApplication(index), messageId: `crash-start-${index}` });
}
process.stdout.write("started\n");

for (;;) {
  const { rows } = await storage.sql.query<{ completed: number }>(`SELECT count(*)::int AS completed FROM runtime_instances WHERE status = 'completed'`);
  process.stdout.write(`completed ${rows[0]!.completed} handled ${worker.stats.handled} duplicates ${worker.stats.duplicates}\n`);
  await new Promise((resolve) => setTimeout(resolve, 100));
}
