/**
 * The worker inside the app process (started by server/main.ts once storage is open). With
 * PGlite it is the only worker (the data directory belongs to one process). With PostgreSQL it
 * runs too unless SAGABOARD_WORKER=external, when only `npm run worker` processes do the work.
 */
import type { Storage } from "../db/storage.ts";
import { ConfigError } from "../env.ts";
import { startReadModelProjections } from "./read-model-projections.ts";
import { getRuntime } from "./runtime.ts";

export type WorkerMode = "in-process" | "external";

export function workerMode(source: Record<string, string | undefined> = process.env): WorkerMode {
  const value = source.SAGABOARD_WORKER?.trim();
  if (!value || value === "in-process") return "in-process";
  if (value === "external") return "external";
  throw new ConfigError(`SAGABOARD_WORKER must be "in-process" or "external" (got ${JSON.stringify(value)})`);
}

/** Starts the in-process worker unless the mode leaves the work to standalone workers; returns how to stop it. */
export function startInProcessWorker(storage: Storage, mode: WorkerMode = workerMode()): { stop(): Promise<void> } | null {
  if (mode === "external" && storage.kind === "postgresql") return null;
  const runtime = getRuntime(storage);
  runtime.startWorker({ onError: (error) => process.stderr.write(`sagaboard runtime: ${(error as Error)?.message ?? String(error)}\n`) });
  // ——— read models of deployed versions, projected next to the worker ———
  const readModels = startReadModelProjections(runtime.store, {
    onError: (error) => process.stderr.write(`sagaboard read models: ${(error as Error)?.message ?? String(error)}\n`),
  });
  // ———
  return {
    stop: async () => {
      await readModels.close();
      await runtime.close();
    },
  };
}
