/**
 * Child process for crash.test.ts: opens a PGlite data directory, appends and projects in a
 * loop, and prints each acknowledged message id ("ack <id>") until it is killed.
 */
import { randomUUID } from "node:crypto";
import { openStorage } from "../db/storage.ts";
import { createEventStore } from "./store.ts";
import { Projector } from "./projections.ts";
import { crashCounter } from "./crash-projection.ts";

const dataDir = process.argv[2];
if (!dataDir) throw new Error("usage: crash-child.ts <data dir>");

const storage = await openStorage({ dataDir });
const store = createEventStore(storage, { pollIntervalMs: 5 });
const projector = new Projector(store, crashCounter, { batchSize: 7, pollIntervalMs: 5 });
projector.start();
process.stdout.write("ready\n");

let next = 0;
await Promise.all(
  Array.from({ length: 4 }, async () => {
    for (;;) {
      const messageId = randomUUID();
      const stream = `crash-${next++ % 6}`;
      await store.append(stream, [{ type: "Tick", data: {}, metadata: { messageId } }]);
      process.stdout.write(`ack ${messageId}\n`);
    }
  }),
);
