import type { Storage } from "./storage.ts";

const GLOBAL_KEY = Symbol.for("sagaboard.storage");
type GlobalWithStorage = typeof globalThis & { [GLOBAL_KEY]?: Storage };

export class StorageNotOpenError extends Error {
  override name = "StorageNotOpenError";
  constructor() {
    super("Storage is not open: start Sagaboard with `npm start` (or `npm run dev`)");
  }
}

/**
 * The process-wide store, opened once by the server entry point (server/main.ts). Next's route
 * handlers are bundled apart from the entry point, so the instance is handed over on globalThis;
 * this module imports no database code so the bundle stays free of it.
 */
export function setProcessStorage(storage: Storage | undefined): void {
  (globalThis as GlobalWithStorage)[GLOBAL_KEY] = storage;
}

export function getProcessStorage(): Storage {
  const storage = (globalThis as GlobalWithStorage)[GLOBAL_KEY];
  if (!storage) throw new StorageNotOpenError();
  return storage;
}
