/** Test plumbing: a migrated store with a runtime and a worker, and waiting for conditions. */
import { openTestStorage, type TestStorage } from "../../db/testing.ts";
import type { StorageKind } from "../../db/sql.ts";
import type { ProcessDefinitionV1 } from "../../definition/v1.ts";
import type { Clock, RuntimeHooks } from "../context.ts";
import { Runtime } from "../runtime.ts";
import type { RuntimeWorker, WorkerOptions } from "../worker.ts";

export interface Harness {
  storage: TestStorage;
  runtime: Runtime;
  worker: RuntimeWorker | null;
  dispose(): Promise<void>;
}

export async function openHarness(kind: StorageKind, options: { clock?: Clock; hooks?: RuntimeHooks; worker?: WorkerOptions | false } = {}): Promise<Harness> {
  const storage = await openTestStorage(kind);
  const runtime = new Runtime(storage, { ...(options.clock ? { clock: options.clock } : {}), ...(options.hooks ? { hooks: options.hooks } : {}) });
  const worker = options.worker === false ? null : runtime.startWorker({ pollIntervalMs: 50, ...options.worker });
  return {
    storage,
    runtime,
    worker,
    async dispose() {
      await runtime.close();
      await storage.dispose();
    },
  };
}

export async function publishAndDeploy(runtime: Runtime, boardId: string, definition: ProcessDefinitionV1) {
  const { version } = await runtime.publishDefinition(boardId, definition);
  return runtime.deploy(boardId, version.version);
}

/** Polls `check` until it returns something other than undefined/false, or fails after `timeoutMs`. */
export async function eventually<T>(check: () => Promise<T | undefined | false>, what: string, timeoutMs = 15_000, intervalMs = 20): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${(last as Error).message}` : ""}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** A clock tests move by hand; it starts at the real time. */
export class ManualClock implements Clock {
  private offsetMs = 0;
  now(): Date {
    return new Date(Date.now() + this.offsetMs);
  }
  advance(ms: number): void {
    this.offsetMs += ms;
  }
}
