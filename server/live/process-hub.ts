/**
 * The hub shared by everything in this process that serves live events: the stream route
 * handlers and the tRPC router, which Next bundles separately, hence globalThis. Keyed by the
 * storage's Sql so tests with their own stores get their own hub.
 *
 * The hub reads through the process's runtime event store (the runtime is process-wide too, see
 * getRuntime), because the runtime writes nearly every event: its appends wake the hub at once.
 * Appends through other EventStore instances of this process reach the hub by its poll (100 ms),
 * appends from other processes by LISTEN/NOTIFY on PostgreSQL.
 */
import type { Sql } from "../db/sql.ts";
import type { EventStore } from "../eventstore/index.ts";
import { getRuntime } from "../runtime/index.ts";
import { LiveHub, type LiveHubOptions } from "./hub.ts";

const GLOBAL_KEY = Symbol.for("sagaboard.live.hubs");

type GlobalWithHubs = typeof globalThis & { [GLOBAL_KEY]?: Map<Sql, LiveHub> };

function hubs(): Map<Sql, LiveHub> {
  const global = globalThis as GlobalWithHubs;
  global[GLOBAL_KEY] ??= new Map();
  return global[GLOBAL_KEY];
}

/** The event store this process appends through; appends made with it reach live clients at once. */
export function processEventStore(storage: { sql: Sql }): EventStore {
  return getRuntime(storage).store;
}

/** The process's hub for this storage; options apply only when it is created. */
export function getLiveHub(storage: { sql: Sql }, options?: LiveHubOptions): LiveHub {
  let hub = hubs().get(storage.sql);
  if (!hub) hubs().set(storage.sql, (hub = new LiveHub(processEventStore(storage), options)));
  return hub;
}

/** Ends the hub's subscriptions and its reading of the log (before the storage closes). */
export async function closeLiveHub(storage: { sql: Sql }): Promise<void> {
  const hub = hubs().get(storage.sql);
  hubs().delete(storage.sql);
  await hub?.close();
}
